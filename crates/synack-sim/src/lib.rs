//! synack-sim (under construction).
