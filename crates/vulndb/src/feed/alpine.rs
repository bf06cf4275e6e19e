//! placeholder
use super::Parsed;
pub(crate) fn parse_json(_source: &str, _path: &str, _bytes: &[u8], _out: &mut Parsed) {}
pub(crate) fn parse_yaml(_source: &str, _path: &str, _bytes: &[u8], _out: &mut Parsed) {}
