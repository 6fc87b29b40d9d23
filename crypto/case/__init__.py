"""The case file on the offline machine: reports from every bundle, addresses de-duplicated across
them, the analysts' assessments and statuses, hand-offs, and a hash-chained audit log."""
