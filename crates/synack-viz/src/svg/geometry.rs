//! Plane geometry for keeping the SVG's labels apart: label centre lines, distances
//! between segments, and an index of things by their vertical extent so that a label
//! is checked only against its neighbours.

/// A segment of the plane: a label's centre line or an arrow's line.
#[derive(Clone, Copy, Debug)]
pub(super) struct Seg2 {
    pub(super) a: (f64, f64),
    pub(super) b: (f64, f64),
}

impl Seg2 {
    /// The segment's vertical extent.
    pub(super) fn y_range(&self) -> (f64, f64) {
        (self.a.1.min(self.b.1), self.a.1.max(self.b.1))
    }

    /// The shortest distance between two segments (0 when they cross).
    pub(super) fn distance(&self, o: &Seg2) -> f64 {
        seg_distance(self.a, self.b, o.a, o.b)
    }
}

fn point_seg_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 { (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
    let (qx, qy) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - qx).powi(2) + (p.1 - qy).powi(2)).sqrt()
}

fn seg_distance(a: (f64, f64), b: (f64, f64), c: (f64, f64), d: (f64, f64)) -> f64 {
    let cross =
        |o: (f64, f64), p: (f64, f64), q: (f64, f64)| (p.0 - o.0) * (q.1 - o.1) - (p.1 - o.1) * (q.0 - o.0);
    let (d1, d2, d3, d4) = (cross(c, d, a), cross(c, d, b), cross(a, b, c), cross(a, b, d));
    if d1 * d2 < 0.0 && d3 * d4 < 0.0 {
        return 0.0;
    }
    point_seg_distance(a, c, d)
        .min(point_seg_distance(b, c, d))
        .min(point_seg_distance(c, a, b))
        .min(point_seg_distance(d, a, b))
}

/// The centre line of a label `w` wide centred on an arrow at (cx, cy), rotated by
/// `angle` degrees, above (`side` < 0) or under the arrow.
pub(super) fn label_line(cx: f64, cy: f64, angle: f64, w: f64, side: f64) -> Seg2 {
    let (sin, cos) = angle.to_radians().sin_cos();
    let off = if side > 0.0 { 10.0 } else { -9.0 };
    let (mx, my) = (cx - sin * off, cy + cos * off);
    let (hx, hy) = (cos * w / 2.0, sin * w / 2.0);
    Seg2 { a: (mx - hx, my - hy), b: (mx + hx, my + hy) }
}

/// Items indexed by the 100 px bands of height they touch.
#[derive(Default)]
pub(super) struct YIndex {
    buckets: Vec<Vec<usize>>,
}

const BUCKET: f64 = 100.0;
const MAX_BUCKETS: usize = 1 << 20;

fn bucket(y: f64) -> usize {
    if y.is_nan() || y <= 0.0 {
        return 0;
    }
    ((y / BUCKET) as usize).min(MAX_BUCKETS - 1)
}

impl YIndex {
    /// Records item `idx` as spanning `y0..=y1`.
    pub(super) fn insert(&mut self, idx: usize, (y0, y1): (f64, f64)) {
        let (lo, hi) = (bucket(y0.min(y1)), bucket(y0.max(y1)));
        if self.buckets.len() <= hi {
            self.buckets.resize_with(hi + 1, Vec::new);
        }
        for b in &mut self.buckets[lo..=hi] {
            b.push(idx);
        }
    }

    /// Items that may touch `y0..=y1` (widened by `margin`), possibly repeated.
    pub(super) fn near(&self, (y0, y1): (f64, f64), margin: f64) -> impl Iterator<Item = usize> + '_ {
        let (lo, hi) = (bucket(y0.min(y1) - margin), bucket(y0.max(y1) + margin));
        let hi = hi.min(self.buckets.len().saturating_sub(1));
        self.buckets.get(lo..=hi).unwrap_or(&[]).iter().flatten().copied()
    }
}
