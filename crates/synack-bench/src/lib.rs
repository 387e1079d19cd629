//! synack-bench (under construction).
