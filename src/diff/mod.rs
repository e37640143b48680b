//! Template diff: what a change to a synthesized template does, resource by resource.
