//! Applying an ignore file and VEX documents to findings: each decision
//! becomes an [`Annotation`] on the finding, so that nothing is removed
//! silently.

use portcullis_policy::{
    Filters, IgnoreEntry, IgnoreFile, ImageScope, Suppression, VexDocument, VexVerdict,
};
use portcullis_types::{Annotation, AnnotationKind, Finding, ImageInfo};

fn scope(image: &ImageInfo) -> ImageScope {
    let mut scope = ImageScope::new();
    for digest in [
        &image.manifest_digest,
        &image.config_digest,
        &image.index_digest,
    ]
    .into_iter()
    .flatten()
    {
        scope = scope.with_digest(digest.to_string());
    }
    for tag in &image.tags {
        scope = scope.with_reference(tag);
    }
    scope.with_reference(&image.reference)
}

fn from_vex(v: &VexVerdict) -> Annotation {
    Annotation {
        kind: AnnotationKind::Vex,
        status: v.status.as_str().to_owned(),
        justification: v.justification.clone(),
        detail: v.detail.clone(),
        source: format!("{} {}", v.document, v.statement),
        expires: None,
        suppresses: v.suppresses,
    }
}

fn from_ignore(file: &str, e: &IgnoreEntry, expired: bool) -> Annotation {
    Annotation {
        kind: if expired {
            AnnotationKind::ExpiredIgnore
        } else {
            AnnotationKind::Ignore
        },
        status: if expired { "expired" } else { "ignored" }.to_owned(),
        justification: e.owner.as_ref().map(|o| format!("owner {o}")),
        detail: Some(e.reason.clone()),
        source: format!("{file}:{}", e.line),
        expires: Some(e.expires.instant()),
        suppresses: !expired,
    }
}

/// Splits `findings` into those kept (annotated where a statement applies)
/// and those suppressed (annotated with what suppressed them); expired ignore
/// entries become warnings.
pub fn apply(
    findings: Vec<Finding>,
    image: &ImageInfo,
    ignore: Option<&IgnoreFile>,
    vex: &[VexDocument],
    warnings: &mut Vec<String>,
) -> (Vec<Finding>, Vec<Finding>) {
    if ignore.is_none() && vex.is_empty() {
        return (findings, Vec::new());
    }
    let scope = scope(image);
    let result = portcullis_policy::apply(
        findings,
        &Filters {
            ignore,
            vex,
            image: &scope,
            now: time::OffsetDateTime::now_utc(),
        },
    );
    let file = ignore.map_or("", |i| i.source.as_str());
    for entry in &result.expired_entries {
        warnings.push(format!(
            "ignore entry for {} at {file}:{} expired on {} and no longer applies",
            entry.id,
            entry.line,
            entry.expires.instant()
        ));
    }
    let kept = result
        .kept
        .into_iter()
        .map(|k| {
            let mut f = k.finding;
            if let Some(v) = &k.vex {
                f.annotations.push(from_vex(v));
            }
            if let Some(e) = &k.expired_ignore {
                f.annotations.push(from_ignore(file, e, true));
            }
            f
        })
        .collect();
    let suppressed = result
        .suppressed
        .into_iter()
        .map(|s| {
            let mut f = s.finding;
            f.annotations.push(match &s.suppression {
                Suppression::Vex(v) => from_vex(v),
                Suppression::Ignore(e) => from_ignore(file, e, false),
            });
            f
        })
        .collect();
    (kept, suppressed)
}
