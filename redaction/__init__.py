"""Audio de-identification library: pure functions over numpy arrays, with no Django import."""
