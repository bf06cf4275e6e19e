//! placeholder
use super::Parsed;
pub(crate) fn parse(_source: &str, _path: &str, _bytes: &[u8], _out: &mut Parsed) {}
