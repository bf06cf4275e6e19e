//! placeholder
use super::Parsed;
pub(crate) fn parse_tracker(_source: &str, _path: &str, _bytes: &[u8], _out: &mut Parsed) {}
pub(crate) fn parse_list(_source: &str, _path: &str, _bytes: &[u8], _out: &mut Parsed) {}
