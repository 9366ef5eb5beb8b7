"""The data subject's side: their consent, their clips, their ledger and their data, over the API
and the owner's pages. A consent change and the withdrawal it causes are orchestrated here."""
