//! `/api/kite/*` through the router against the fake Kite.
