//! Content-addressed blob storage on local disk (filled in by the registry work).
