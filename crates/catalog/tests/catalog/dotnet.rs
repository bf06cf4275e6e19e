//! dotnet cataloger behaviour tests (being written).
