//! Behaviour tests of portcullis-image: every source kind, merged-tree semantics,
//! verification, limits and hostile archives, against testkit images and images made
//! by real tools (skopeo, umoci, the reference registry).

mod image {
    mod cache;
    mod hostile;
    mod layers;
    mod real_tools;
    mod registry;
    mod select;
    mod sources;
    mod support;
}
