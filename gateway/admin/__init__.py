"""Administration: operations on users and their data, shared by the CLI and (later) ad-hoc commands."""
