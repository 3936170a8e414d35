//! The seccomp filters, compiled in the parent (before fork) with `seccompiler`.
//!
//! Three programs are installed, in this order:
//! 1. the deny list, answering EPERM: ptrace and cross-process memory access;
//!    mount/namespace calls (`mount`, the new mount API, `umount2`, `pivot_root`,
//!    `chroot`, `unshare`, `setns`, `clone` with any `CLONE_NEW*` flag); kernel
//!    and key management (`kexec_*`, `*_module`, `reboot`, `swapon/off`, `acct`,
//!    `bpf`, `keyctl`, `add_key`, `request_key`, `perf_event_open`,
//!    `userfaultfd`, `open_by_handle_at`); `io_uring_*` (it can open sockets and
//!    files behind the filter's back); `setsid` and `setpgid` (so no descendant
//!    can leave the process group that the timeout kills); `mknod`/`mknodat`
//!    of a character or block device (a uid-0 child could otherwise make a
//!    node for `/dev/kvm` or a disk inside a write root and reach the device
//!    past Landlock; FIFOs and sockets stay allowed); `ioctl(TIOCSTI)`
//!    (typing into a terminal); and, when network is off, `socket` for any
//!    family but AF_UNIX. Any other architecture than the native one (e.g. i386
//!    `int 0x80`) kills the process.
//! 2. `clone3` answers ENOSYS: its flags live in memory a filter cannot read, and
//!    ENOSYS makes libc fall back to `clone`, whose flags filter 1 checks.
//! 3. on x86_64, every x32 system call (number with bit 30 set) answers ENOSYS,
//!    so the x32 ABI cannot reach the calls above under other numbers.
//!
//! What it cannot do: it does not look at paths (Landlock does), it cannot stop
//! a process from using what it already holds, and it does not replace Android's
//! own app filter, which stays in force underneath.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch, sock_filter,
};

/// The architecture seccompiler compiles for.
#[cfg(target_arch = "x86_64")]
const TARGET_ARCH: TargetArch = TargetArch::x86_64;
#[cfg(target_arch = "aarch64")]
const TARGET_ARCH: TargetArch = TargetArch::aarch64;
#[cfg(target_arch = "riscv64")]
const TARGET_ARCH: TargetArch = TargetArch::riscv64;

/// `kexec_file_load`: libc lacks the constant for some Android targets; 294 is
/// its number in the asm-generic table aarch64 and riscv64 use.
#[cfg(target_arch = "x86_64")]
const SYS_KEXEC_FILE_LOAD: libc::c_long = libc::SYS_kexec_file_load;
#[cfg(not(target_arch = "x86_64"))]
const SYS_KEXEC_FILE_LOAD: libc::c_long = 294;

/// System calls denied outright with EPERM.
const DENIED: &[libc::c_long] = &[
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_open_tree,
    libc::SYS_move_mount,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_mount_setattr,
    libc::SYS_kexec_load,
    SYS_KEXEC_FILE_LOAD,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_acct,
    libc::SYS_bpf,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_open_by_handle_at,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_setsid,
    libc::SYS_setpgid,
];

/// Every `CLONE_NEW*` flag `clone` accepts in its first argument.
const CLONE_NAMESPACE_FLAGS: &[libc::c_int] = &[
    libc::CLONE_NEWNS,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWNET,
    libc::CLONE_NEWCGROUP,
];

fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule, String> {
    SeccompRule::new(conditions).map_err(|e| format!("seccomp rule: {e}"))
}

fn condition(
    arg: u8,
    len: SeccompCmpArgLen,
    op: SeccompCmpOp,
    value: u64,
) -> Result<SeccompCondition, String> {
    SeccompCondition::new(arg, len, op, value).map_err(|e| format!("seccomp condition: {e}"))
}

fn compile(filter: Result<SeccompFilter, seccompiler::BackendError>) -> Result<BpfProgram, String> {
    let filter = filter.map_err(|e| format!("seccomp filter: {e}"))?;
    BpfProgram::try_from(filter).map_err(|e| format!("seccomp compile: {e}"))
}

/// Rules matching a `mode` argument (at `arg`) that makes a character or block
/// device node.
fn device_node_rules(arg: u8) -> Result<Vec<SeccompRule>, String> {
    [libc::S_IFCHR, libc::S_IFBLK]
        .into_iter()
        .map(|kind| {
            rule(vec![condition(
                arg,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::MaskedEq(u64::from(libc::S_IFMT)),
                u64::from(kind),
            )?])
        })
        .collect()
}

/// The deny-list program (filter 1 in the module docs).
fn deny_list(arch: TargetArch, network: bool) -> Result<BpfProgram, String> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        DENIED.iter().map(|nr| (*nr, Vec::new())).collect();
    let clone_rules = CLONE_NAMESPACE_FLAGS
        .iter()
        .map(|flag| {
            let flag = u64::from(flag.unsigned_abs());
            rule(vec![condition(
                0,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::MaskedEq(flag),
                flag,
            )?])
        })
        .collect::<Result<Vec<_>, _>>()?;
    rules.insert(libc::SYS_clone, clone_rules);
    rules.insert(libc::SYS_mknodat, device_node_rules(2)?);
    #[cfg(target_arch = "x86_64")]
    rules.insert(libc::SYS_mknod, device_node_rules(1)?);
    // TIOCSTI is c_ulong on glibc and c_int on bionic.
    #[allow(clippy::useless_conversion)]
    let tiocsti = u64::try_from(libc::TIOCSTI).map_err(|e| format!("TIOCSTI: {e}"))?;
    rules.insert(
        libc::SYS_ioctl,
        vec![rule(vec![condition(
            1,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::Eq,
            tiocsti,
        )?])?],
    );
    if !network {
        let af_unix = u64::from(libc::AF_UNIX.unsigned_abs());
        rules.insert(
            libc::SYS_socket,
            vec![rule(vec![condition(
                0,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::Ne,
                af_unix,
            )?])?],
        );
    }
    let eperm = libc::EPERM.unsigned_abs();
    compile(SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(eperm),
        arch,
    ))
}

/// `clone3` → ENOSYS (filter 2).
fn clone3_fallback(arch: TargetArch) -> Result<BpfProgram, String> {
    let rules = BTreeMap::from([(libc::SYS_clone3, Vec::new())]);
    let enosys = libc::ENOSYS.unsigned_abs();
    compile(SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(enosys),
        arch,
    ))
}

/// x32 system calls → ENOSYS (filter 3, x86_64 only). Hand-written because a
/// number range is not expressible in seccompiler's rule model.
fn x32_denial() -> BpfProgram {
    const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const AUDIT_ARCH_X86_64: u32 = 62 | 0x8000_0000 | 0x4000_0000;
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    let op = |code, k, jt, jf| sock_filter { code, jt, jf, k };
    vec![
        op(LD_W_ABS, 4, 0, 0), // seccomp_data.arch
        op(JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        op(RET_K, libc::SECCOMP_RET_ALLOW, 0, 0), // foreign arch: filter 1 kills it
        op(LD_W_ABS, 0, 0, 0),                    // seccomp_data.nr
        op(JGE_K, X32_SYSCALL_BIT, 0, 1),
        op(
            RET_K,
            libc::SECCOMP_RET_ERRNO | libc::ENOSYS.unsigned_abs(),
            0,
            0,
        ),
        op(RET_K, libc::SECCOMP_RET_ALLOW, 0, 0),
    ]
}

/// The programs to install, in order. Errors name what failed to compile.
pub(crate) fn compile_filters(network: bool) -> Result<Vec<BpfProgram>, String> {
    let arch = TARGET_ARCH;
    let mut programs = vec![deny_list(arch, network)?, clone3_fallback(arch)?];
    if cfg!(target_arch = "x86_64") {
        programs.push(x32_denial());
    }
    Ok(programs)
}

/// How many system calls filter 1 denies (for `leash doctor`'s detail).
pub(crate) fn denied_count() -> usize {
    DENIED.len() + 3 // + clone with CLONE_NEW*, ioctl(TIOCSTI), device mknod
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_compile_with_and_without_network() {
        let off = compile_filters(false).unwrap();
        let on = compile_filters(true).unwrap();
        assert!(
            off[0].len() > on[0].len(),
            "network off adds the socket rule"
        );
        assert!(off.iter().all(|p| !p.is_empty() && p.len() < 4096));
    }
}
