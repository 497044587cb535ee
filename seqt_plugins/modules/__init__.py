"""SeisComP-style applications (seqtpick, seqtrepick) around the picking cores."""
