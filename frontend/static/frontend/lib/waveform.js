// The editor's sound: a Web Audio player over the decoded clip (no audio element, no URL) and the
// waveform drawn from the envelope the server computes, with a playhead and a selected range.

// Muted start: playback begins at this share of the volume and rises to it over FADE_SECONDS
// (evenly in loudness), continuing where it stopped if paused before it got there.
export const QUIET_LEVEL = 0.1;
export const FADE_SECONDS = 2;

export class Player {
  constructor(onChange) {
    this.context = null;
    this.output = null; // the volume: every source plays through it
    this.buffer = null;
    this.source = null;
    this.fade = null; // the running source's fade-in, while one is under way
    this.rate = 1;
    this.volume = 1;
    this.fadeLevel = 1; // where the next start begins, as a share of the volume (QUIET_LEVEL: muted start)
    this.started = false; // whether the clip in hand has been played
    this.offset = 0; // position in seconds while stopped, or where the running source started
    this.startedAt = 0; // context time at which the running source started
    this.stopAt = null; // end of the range being played, if any
    this.mayPlay = () => true; // asked before each start: false keeps the clip silent
    this.onChange = onChange;
    this.onStart = null; // called when the sound starts from silence (not on a jump or a change of speed)
  }

  ensureContext() {
    if (!this.context) {
      this.context = new AudioContext();
      this.output = this.context.createGain();
      this.output.gain.value = this.volume;
      this.output.connect(this.context.destination);
    }
    return this.context;
  }

  async load(bytes) {
    this.use(await this.decode(bytes));
  }

  // Decode without playing or replacing the clip in hand (for the clip claimed ahead).
  decode(bytes) { return this.ensureContext().decodeAudioData(bytes); }

  // `quietStart`: begin this clip's playback quietly and fade in.
  use(buffer, { quietStart = false } = {}) {
    this.stop();
    this.buffer = buffer;
    this.offset = 0;
    this.started = false;
    this.fadeLevel = quietStart ? QUIET_LEVEL : 1;
    this.onChange();
  }

  // Change muted start for the clip in hand, if it has not been played yet.
  setQuietStart(quietStart) {
    if (!this.started) this.fadeLevel = quietStart ? QUIET_LEVEL : 1;
  }

  // Forget the clip: stop, and let go of the decoded sound.
  clear() {
    this.stop();
    this.buffer = null;
    this.offset = 0;
    this.started = false;
    this.onChange();
  }

  get duration() { return this.buffer ? this.buffer.duration : 0; }
  get playing() { return this.source !== null; }

  // What is heard now, as a share of full scale: the volume times the fade-in under way.
  get gain() {
    const fading = this.fade ? this.fade.gain.value : 1;
    return (this.output ? this.output.gain.value : this.volume) * fading;
  }

  setVolume(volume) {
    this.volume = Math.max(0, Math.min(1, volume));
    if (this.output) this.output.gain.setValueAtTime(this.volume, this.context.currentTime);
    this.onChange();
  }

  get position() {
    if (!this.source) return this.offset;
    const position = this.offset + (this.context.currentTime - this.startedAt) * this.rate;
    return Math.min(position, this.stopAt ?? this.duration);
  }

  play(from = this.position, to = null) {
    if (!this.buffer) return;
    if (!this.mayPlay()) { this.stop(); return; }
    const starting = !this.playing;
    this.halt();
    const start = Math.max(0, Math.min(from, this.duration - 0.01));
    this.source = this.context.createBufferSource();
    this.source.buffer = this.buffer;
    this.source.playbackRate.value = this.rate;
    this.source.connect(this.fadeIn() || this.output);
    this.started = true;
    const source = this.source;
    source.onended = () => {
      if (this.source !== source) return;
      this.offset = to ?? this.duration;
      if (this.offset >= this.duration - 0.01) this.offset = 0;
      this.release();
      this.onChange();
    };
    this.offset = start;
    this.stopAt = to;
    this.startedAt = this.context.currentTime;
    if (to === null) source.start(0, start);
    else source.start(0, start, Math.max(0.01, to - start));
    this.onChange();
    if (starting && this.onStart) this.onStart();
  }

  // A gain that rises from fadeLevel to 1 over what is left of FADE_SECONDS, or null when no
  // fade-in is under way.
  fadeIn() {
    if (this.fadeLevel >= 1) return null;
    const now = this.context.currentTime;
    const left = FADE_SECONDS * Math.log(1 / this.fadeLevel) / Math.log(1 / QUIET_LEVEL);
    this.fade = this.context.createGain();
    this.fade.gain.value = this.fadeLevel;  // read back at once, before the first sound is rendered
    this.fade.gain.setValueAtTime(this.fadeLevel, now);
    this.fade.gain.exponentialRampToValueAtTime(1, now + left);
    this.fade.connect(this.output);
    return this.fade;
  }

  // The running source is done with: keep how far the fade-in got, let go of the nodes.
  release() {
    if (this.fade) {
      const level = this.fade.gain.value;
      this.fadeLevel = level >= 0.999 ? 1 : Math.max(QUIET_LEVEL, level);
      this.fade.disconnect();
      this.fade = null;
    }
    if (this.source) {
      this.source.disconnect();
      this.source = null;
    }
    this.stopAt = null;
  }

  // Stop the running source without moving the position back.
  halt() {
    if (!this.source) return;
    this.offset = this.position;
    this.source.onended = null;
    this.source.stop();
    this.release();
  }

  stop() {
    this.halt();
    this.onChange();
  }

  toggle() {
    if (this.playing) this.stop();
    else this.play();
  }

  seek(seconds) {
    const to = Math.max(0, Math.min(seconds, this.duration));
    if (this.playing) this.play(to); // a jump while playing: the sound goes on, no new start
    else {
      this.offset = to;
      this.onChange();
    }
  }

  setRate(rate) {
    this.rate = Math.round(Math.max(0.5, Math.min(2, rate)) * 100) / 100;
    if (this.playing) this.play(this.position, this.stopAt);
    else this.onChange();
  }
}

// Draws [min, max] peaks on a canvas; a click plays from that point, a drag selects a range and plays it.
export class Waveform {
  constructor(canvas, onPick) {
    this.canvas = canvas;
    this.peaks = [];
    this.duration = 0;
    this.selection = null; // {start, end} in seconds
    this.onPick = onPick;
    let downAt = null;
    const secondsAt = (event) => {
      const box = canvas.getBoundingClientRect();
      return Math.max(0, Math.min(1, (event.clientX - box.left) / box.width)) * this.duration;
    };
    canvas.addEventListener("pointerdown", (event) => {
      if (!this.duration) return;
      downAt = secondsAt(event);
      canvas.setPointerCapture(event.pointerId);
    });
    canvas.addEventListener("pointermove", (event) => {
      if (downAt === null) return;
      const here = secondsAt(event);
      this.selection = { start: Math.min(downAt, here), end: Math.max(downAt, here) };
      this.onPick(null);
    });
    canvas.addEventListener("pointerup", (event) => {
      if (downAt === null) return;
      const here = secondsAt(event);
      const span = Math.abs(here - downAt);
      const from = downAt;
      downAt = null;
      if (span < this.duration / 200 || span < 0.05) {
        this.selection = null;
        this.onPick({ start: from, end: null });
      } else {
        this.selection = { start: Math.min(from, here), end: Math.max(from, here) };
        this.onPick(this.selection);
      }
    });
  }

  // How many bins to ask the server for: one per device pixel column, within its limit.
  get bins() {
    return Math.max(100, Math.min(4000, Math.round(this.canvas.clientWidth * (window.devicePixelRatio || 1))));
  }

  show(peaks, duration) {
    this.peaks = peaks;
    this.duration = duration;
    this.selection = null;
  }

  clear() { this.show([], 0); }

  draw(position) {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(this.canvas.clientWidth * ratio);
    const height = Math.round(this.canvas.clientHeight * ratio);
    if (this.canvas.width !== width) this.canvas.width = width;
    if (this.canvas.height !== height) this.canvas.height = height;
    const g = this.canvas.getContext("2d");
    g.clearRect(0, 0, width, height);
    if (!this.duration || !this.peaks.length) return;
    const x = (seconds) => (seconds / this.duration) * width;
    if (this.selection) {
      g.fillStyle = "#cfe3ff";
      g.fillRect(x(this.selection.start), 0, Math.max(1, x(this.selection.end) - x(this.selection.start)), height);
    }
    g.fillStyle = "#2b4c7e";
    const middle = height / 2;
    const step = width / this.peaks.length;
    this.peaks.forEach(([low, high], index) => {
      const top = middle - high * middle;
      const bottom = middle - low * middle;
      g.fillRect(index * step, top, Math.max(1, step), Math.max(1, bottom - top));
    });
    g.fillStyle = "#c0392b";
    g.fillRect(Math.min(width - 2, x(position)), 0, 2 * ratio, height);
  }
}
