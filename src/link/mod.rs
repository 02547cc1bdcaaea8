//! Outbound links to masters, replicas and peer sentinels.
