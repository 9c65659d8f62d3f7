//! Loading connections from where operators keep them (filled in by the loading work).
