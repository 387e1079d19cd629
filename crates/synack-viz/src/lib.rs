//! synack-viz (under construction).
