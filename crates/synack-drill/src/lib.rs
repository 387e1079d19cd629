//! synack-drill (under construction).
