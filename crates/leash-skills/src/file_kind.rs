//! What kind of file a name suggests (image, audio, document, …), and which
//! of a sort's folders could hold it: a folder named for the kind (`music`
//! for audio, `photos` for images), for a word of the file's name
//! (`invoices` for `invoice-2026-01.pdf`) or for its extension (`pdfs`).
//! The sort offers the model only those folders and `leave` — a small model
//! chooses well among a few valid options and badly among all of them, and
//! a file no folder fits is left where it is without asking.

/// Extensions by kind, lowercase.
const KINDS: [(&str, &[&str]); 7] = [
    (
        "image",
        &[
            "jpg", "jpeg", "png", "gif", "webp", "heic", "bmp", "svg", "tif", "tiff",
        ],
    ),
    (
        "audio",
        &["mp3", "wav", "flac", "ogg", "m4a", "aac", "opus"],
    ),
    ("video", &["mp4", "mkv", "mov", "avi", "webm", "m4v"]),
    (
        "document",
        &[
            "pdf", "doc", "docx", "odt", "rtf", "txt", "md", "xls", "xlsx", "ods", "csv", "ppt",
            "pptx", "odp", "epub",
        ],
    ),
    (
        "archive",
        &["zip", "tar", "gz", "tgz", "7z", "rar", "xz", "bz2"],
    ),
    (
        "code",
        &[
            "rs", "py", "js", "ts", "c", "h", "cpp", "java", "go", "sh", "rb", "html", "css",
        ],
    ),
    ("package", &["apk", "deb", "rpm", "dmg", "exe", "msi"]),
];

/// The kind of `name` by its extension, if known.
pub fn kind_of(name: &str) -> Option<&'static str> {
    let (_, ext) = name.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    KINDS
        .iter()
        .find(|(_, exts)| exts.contains(&ext.as_str()))
        .map(|(kind, _)| *kind)
}

/// Folder names that hold each kind, lowercase.
const FOLDERS_FOR: [(&str, &[&str]); 7] = [
    (
        "image",
        &[
            "image",
            "images",
            "photo",
            "photos",
            "picture",
            "pictures",
            "pics",
            "wallpapers",
            "camera",
        ],
    ),
    (
        "audio",
        &[
            "audio",
            "music",
            "songs",
            "sounds",
            "podcasts",
            "recordings",
        ],
    ),
    ("video", &["video", "videos", "movies", "films", "clips"]),
    (
        "document",
        &[
            "document",
            "documents",
            "docs",
            "papers",
            "reports",
            "texts",
            "notes",
            "pdfs",
        ],
    ),
    (
        "archive",
        &["archive", "archives", "zips", "backups", "compressed"],
    ),
    ("code", &["code", "src", "source", "scripts"]),
    ("package", &["apps", "packages", "installers", "apks"]),
];

/// Whether `folder` (a path; its last part counts) could hold `file`.
pub fn fits(file: &str, folder: &str) -> bool {
    let name = folder.rsplit('/').next().unwrap_or(folder).to_lowercase();
    let file_lower = file.to_lowercase();
    if let Some(kind) = kind_of(file)
        && FOLDERS_FOR
            .iter()
            .any(|(k, names)| *k == kind && names.contains(&name.as_str()))
    {
        return true;
    }
    // `invoices` for invoice-…, `screenshots` for Screenshot_…: the
    // folder's name, singular, as a word at the start of the file's name or
    // after a separator.
    let singular = name.strip_suffix('s').unwrap_or(&name);
    if singular.len() >= 3 {
        let stem = file_lower
            .rsplit_once('.')
            .map_or(file_lower.as_str(), |(s, _)| s);
        if stem
            .split(|c: char| !c.is_alphanumeric())
            .any(|word| word.starts_with(singular))
        {
            return true;
        }
    }
    // `pdfs` or `mp3` for the extension.
    file_lower
        .rsplit_once('.')
        .is_some_and(|(_, ext)| name == ext || name == format!("{ext}s"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_fits_by_kind_by_name_or_by_extension() {
        assert!(fits("party.jpg", "photos"));
        assert!(fits("song.mp3", "music"));
        assert!(fits("invoice-2026-01.pdf", "invoices"));
        assert!(fits("Screenshot_2026-01-01.png", "screenshots"));
        assert!(fits("scan.pdf", "pdfs"));
        assert!(fits("letter.docx", "sorted/documents"));
        assert!(!fits("cover.jpg", "music"));
        assert!(!fits("holiday.jpg", "invoices"));
        assert!(!fits("mystery.bin", "images"));
        assert!(!fits("mystery.bin", "documents"));
    }

    #[test]
    fn kinds_come_from_the_extension_in_any_case() {
        assert_eq!(kind_of("Beach.JPG"), Some("image"));
        assert_eq!(kind_of("song.mp3"), Some("audio"));
        assert_eq!(kind_of("report (1).pdf"), Some("document"));
        assert_eq!(kind_of("mystery.bin"), None);
        assert_eq!(kind_of("README"), None);
    }
}
