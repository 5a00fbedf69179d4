"""Tuned comparisons: every optimizer gets the same number of trials over its declared
search space (``space``), the best trial of each study is chosen on the problem's
training loss, and the chosen configuration is scored on fresh seeds (``study``)."""
