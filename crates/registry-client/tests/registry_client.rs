//! Behaviour tests of `portcullis-registry-client`: reference normalisation against
//! Docker's own cases, and pulls from the real reference registry (`docker-registry`) on
//! loopback, anonymous, with Basic auth and with Bearer tokens, plus a scripted registry
//! for misbehaviours a real one does not show.

#[path = "registry_client/harness.rs"]
mod harness;

#[path = "registry_client/basic_auth.rs"]
mod basic_auth;
#[path = "registry_client/bearer.rs"]
mod bearer;
#[path = "registry_client/misbehaving.rs"]
mod misbehaving;
#[path = "registry_client/pull.rs"]
mod pull;
#[path = "registry_client/push.rs"]
mod push;
#[path = "registry_client/reference_table.rs"]
mod reference_table;
#[path = "registry_client/scripted.rs"]
mod scripted;
