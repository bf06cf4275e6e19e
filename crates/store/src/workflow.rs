//! Images, scans, decisions and approvals of the gating workflow.
