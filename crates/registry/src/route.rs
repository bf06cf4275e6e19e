//! Parsing the tail of `/v2/…` into a [`Route`]: axum cannot route
//! `/v2/{*name}/manifests/{reference}` because a repository name has slashes, so the
//! registry routes `/v2/{*rest}` and finds the endpoint from the right.

use portcullis_store::registry::{validate_repository, validate_tag};
use portcullis_types::Digest;

use crate::error::{ApiError, ErrorCode};

/// A manifest reference: a tag or a digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reference {
    Tag(String),
    Digest(Digest),
}

impl Reference {
    fn parse(text: &str) -> Result<Self, ApiError> {
        if text.contains(':') {
            return parse_digest(text).map(Reference::Digest);
        }
        validate_tag(text).map_err(|e| ApiError::new(ErrorCode::ManifestInvalid, e.to_string()))?;
        Ok(Reference::Tag(text.to_owned()))
    }
}

/// One endpoint of the distribution API, with its repository name where it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// `/v2/`
    Base,
    /// `/v2/<name>/manifests/<reference>`
    Manifest { name: String, reference: Reference },
    /// `/v2/<name>/blobs/<digest>` (the digest is parsed by the handler: a bad one is an
    /// error answer, not an unknown route)
    Blob { name: String, digest: String },
    /// `/v2/<name>/blobs/uploads/`
    UploadStart { name: String },
    /// `/v2/<name>/blobs/uploads/<id>`
    Upload { name: String, id: String },
    /// `/v2/<name>/tags/list`
    Tags { name: String },
    /// `/v2/<name>/referrers/<digest>`
    Referrers { name: String, digest: String },
}

/// Parses a request path (`/v2/…`, percent-decoded here).
pub(crate) fn parse(path: &str) -> Result<Option<Route>, ApiError> {
    let path = percent_decode(path);
    let Some(rest) = path.strip_prefix("/v2") else {
        return Ok(None);
    };
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Ok(Some(Route::Base));
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let n = segments.len();
    let name_of = |k: usize| -> Result<String, ApiError> {
        let name = segments[..k].join("/");
        validate_repository(&name)
            .map_err(|e| ApiError::new(ErrorCode::NameInvalid, e.to_string()))?;
        Ok(name)
    };
    let route = if n >= 4 && segments[n - 3] == "blobs" && segments[n - 2] == "uploads" {
        let name = name_of(n - 3)?;
        match segments[n - 1] {
            "" => Route::UploadStart { name },
            id => Route::Upload {
                name,
                id: id.to_owned(),
            },
        }
    } else if n >= 3 && segments[n - 2] == "blobs" && segments[n - 1] == "uploads" {
        Route::UploadStart {
            name: name_of(n - 2)?,
        }
    } else if n >= 3 && segments[n - 2] == "tags" && segments[n - 1] == "list" {
        Route::Tags {
            name: name_of(n - 2)?,
        }
    } else if n >= 3 && segments[n - 2] == "manifests" {
        Route::Manifest {
            name: name_of(n - 2)?,
            reference: Reference::parse(segments[n - 1])?,
        }
    } else if n >= 3 && segments[n - 2] == "blobs" {
        Route::Blob {
            name: name_of(n - 2)?,
            digest: segments[n - 1].to_owned(),
        }
    } else if n >= 3 && segments[n - 2] == "referrers" {
        Route::Referrers {
            name: name_of(n - 2)?,
            digest: segments[n - 1].to_owned(),
        }
    } else {
        return Ok(None);
    };
    Ok(Some(route))
}

/// Parses a digest from a request, answering `DIGEST_INVALID` for a bad one.
pub(crate) fn parse_digest(text: &str) -> Result<Digest, ApiError> {
    text.parse::<Digest>()
        .map_err(|e| ApiError::new(ErrorCode::DigestInvalid, e.to_string()))
}

/// The first value of query parameter `key`, percent-decoded (`+` stays `+`: media types
/// such as `application/vnd.example+json` carry it literally).
pub(crate) fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn routes_are_found_from_the_right() {
        let route = |p: &str| parse(p).ok().flatten();
        assert_eq!(route("/v2/"), Some(Route::Base));
        assert_eq!(route("/v2"), Some(Route::Base));
        assert_eq!(
            route("/v2/unscanned/a/app/manifests/v1"),
            Some(Route::Manifest {
                name: "unscanned/a/app".into(),
                reference: Reference::Tag("v1".into())
            })
        );
        assert!(matches!(
            route(&format!("/v2/a/manifests/{}", D.replace(':', "%3A"))),
            Some(Route::Manifest {
                reference: Reference::Digest(_),
                ..
            })
        ));
        assert_eq!(
            route("/v2/a/b/blobs/uploads/"),
            Some(Route::UploadStart { name: "a/b".into() })
        );
        assert_eq!(
            route("/v2/a/b/blobs/uploads/xyz"),
            Some(Route::Upload {
                name: "a/b".into(),
                id: "xyz".into()
            })
        );
        assert_eq!(
            route("/v2/a/tags/list"),
            Some(Route::Tags { name: "a".into() })
        );
        assert_eq!(route("/v2/a/unknown/x"), None);
        assert_eq!(route("/other"), None);
    }

    #[test]
    fn bad_names_and_digests_are_answered_with_their_codes() {
        let err = parse("/v2/Bad/Name/manifests/v1").expect_err("uppercase name");
        assert_eq!(err.code, ErrorCode::NameInvalid);
        let err = parse("/v2/a/manifests/sha256:xyz").expect_err("bad digest");
        assert_eq!(err.code, ErrorCode::DigestInvalid);
    }

    #[test]
    fn query_values_are_decoded() {
        let q = Some("mount=sha256%3Aab&from=a/b&artifactType=application/x%2Bjson");
        assert_eq!(query_param(q, "mount").as_deref(), Some("sha256:ab"));
        assert_eq!(query_param(q, "from").as_deref(), Some("a/b"));
        assert_eq!(
            query_param(q, "artifactType").as_deref(),
            Some("application/x+json")
        );
        assert_eq!(query_param(q, "n"), None);
    }
}
