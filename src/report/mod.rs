//! Reports of a run: the terminal summary, the JSON report and the HdrHistogram interval log.
