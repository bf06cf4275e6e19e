//! Teams, users, API tokens and server settings (filled in by the auth work).
