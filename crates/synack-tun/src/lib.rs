//! synack-tun (under construction).
