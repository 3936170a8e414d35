//! O(1) pre-images: a file that an action replaces with a new inode
//! (`sed -i`, leash's own `write_file`) is kept by a hard link into the
//! object store — no copy, no hash on the action's path — and hashed only
//! when undo needs to compare it.

use super::*;

/// (content objects, link objects) in the store.
fn objects(ws: &Ws) -> (usize, usize) {
    let all = ws.journal.objects().list().unwrap();
    let links = all.iter().filter(|(n, _)| n.starts_with("links/")).count();
    (all.len() - links, links)
}

/// Class `new-inode-kept-by-link`: the pre-image is the old inode itself.
#[test]
fn a_file_replaced_by_a_new_inode_is_kept_by_link_not_copied() {
    let ws = Ws::new();
    ws.write("f.txt", &"v1 line\n".repeat(100_000));
    let inode = std::fs::metadata(ws.p("f.txt")).unwrap().ino();
    let before = ws.tree_hash();
    ws.run(1, &["sed", "-i", "s/v1/v2/", "f.txt"]);
    assert_eq!(objects(&ws), (0, 1), "a link, and no copy");
    let (name, _) = ws.journal.objects().list().unwrap().remove(0);
    let kept = std::fs::metadata(ws.journal.objects().path_of(&name)).unwrap();
    assert_eq!(kept.ino(), inode, "the old inode itself is the pre-image");
    ws.undo(Selection::Job(1), false).unwrap();
    assert_eq!(ws.tree_hash(), before);
}

/// Class `second-name-copied`: a file with another hard link could be
/// written through that name later, which would change a linked pre-image;
/// it is copied instead.
#[test]
fn a_file_with_a_second_name_is_copied_not_linked() {
    let ws = Ws::new();
    ws.write("f.txt", "v1\n");
    std::fs::hard_link(ws.p("f.txt"), ws.root.join("other-name")).unwrap();
    let before = ws.tree_hash();
    ws.run(1, &["sed", "-i", "s/v1/v2/", "f.txt"]);
    assert_eq!(objects(&ws), (1, 0), "a copy, and no link");
    std::fs::write(
        ws.root.join("other-name"),
        "changed through the other name\n",
    )
    .unwrap();
    ws.undo(Selection::Job(1), false).unwrap();
    assert_eq!(ws.tree_hash(), before);
}

/// Class `linked-pre-image-changed`: a linked pre-image that no longer holds
/// what was journaled (written through a descriptor held open, say) is not
/// restored: undo stops and the workspace file is left alone.
#[test]
fn a_linked_pre_image_changed_since_is_not_restored() {
    let ws = Ws::new();
    ws.write("f.txt", "v1\n");
    ws.run(1, &["sed", "-i", "s/v1/v2/", "f.txt"]);
    let (name, _) = ws.journal.objects().list().unwrap().remove(0);
    std::fs::write(ws.journal.objects().path_of(&name), "tampered, longer\n").unwrap();
    let err = ws.undo(Selection::Job(1), false).unwrap_err();
    assert!(err.to_string().contains("changed since"), "{err}");
    assert_eq!(ws.read("f.txt"), "v2\n");
}
