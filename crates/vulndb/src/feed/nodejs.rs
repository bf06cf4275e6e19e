//! placeholder
use super::Parsed;
pub(crate) fn parse_npm(_source: &str, _path: &str, _bytes: &[u8], _out: &mut Parsed) {}
pub(crate) fn parse_core(_source: &str, _path: &str, _bytes: &[u8], _out: &mut Parsed) {}
