//! The built-in `hello` image: a static Linux program (x86-64 or AArch64) generated here, byte by byte, packed into a
//! deterministic one-layer OCI image and imported into the store on first use — so `gantry run hello` works on
//! a machine with no network and no other image.

use gantry_image::{Digest, Platform, Store};
use serde_json::json;

/// The name the built-in image is registered under.
pub const NAME: &str = "localhost/hello:latest";
/// What the program prints.
pub const GREETING: &str = "Hello from Gantry!\n";

/// Virtual address the single segment is loaded at (the classic non-PIE base; page aligned).
const BASE: u64 = 0x40_0000;
/// Size of the ELF64 file header.
const EHDR_SIZE: u16 = 64;
/// Size of one ELF64 program header.
const PHDR_SIZE: u16 = 56;

/// Does `name` (as typed by the user) mean the built-in image?
pub fn is_hello(name: &str) -> bool {
    matches!(name, "hello" | "hello:latest" | NAME)
}

/// The x86-64 machine code: `write(1, msg, len); exit(0)`, followed by the message.
fn code_x86_64() -> Vec<u8> {
    let len = GREETING.len() as u32;
    let mut c = Vec::new();
    c.extend([0xb8, 1, 0, 0, 0]); // mov eax, 1        (SYS_write)
    c.extend([0xbf, 1, 0, 0, 0]); // mov edi, 1        (fd: stdout)
    c.extend([0x48, 0x8d, 0x35]); // lea rsi, [rip+d]  (buf: the message; d filled in below)
    let disp_at = c.len();
    c.extend([0, 0, 0, 0]);
    let after_lea = c.len();
    c.push(0xba); // mov edx, len      (count)
    c.extend(len.to_le_bytes());
    c.extend([0x0f, 0x05]); // syscall
    c.extend([0xb8, 60, 0, 0, 0]); // mov eax, 60       (SYS_exit)
    c.extend([0x31, 0xff]); // xor edi, edi      (status 0)
    c.extend([0x0f, 0x05]); // syscall
    let msg_at = c.len();
    let disp = (msg_at - after_lea) as u32; // rip-relative: from the end of the lea
    c[disp_at..disp_at + 4].copy_from_slice(&disp.to_le_bytes());
    c.extend(GREETING.as_bytes());
    c
}

/// AArch64 `MOVZ Xd, #imm16` (64-bit, no shift): `1 10 100101 00 imm16 Rd`.
fn movz(rd: u32, imm16: u16) -> u32 {
    0xd280_0000 | (u32::from(imm16) << 5) | rd
}

/// AArch64 `ADR Xd, #offset` (PC-relative, ±1 MiB): `0 immlo 10000 immhi Rd`.
fn adr(rd: u32, offset: u32) -> u32 {
    0x1000_0000 | ((offset & 3) << 29) | (((offset >> 2) & 0x7_ffff) << 5) | rd
}

/// AArch64 `SVC #0`: the system call instruction.
const SVC0: u32 = 0xd400_0001;

/// The AArch64 machine code: `write(1, msg, len); exit(0)` (syscall number in x8, arguments in x0-x2),
/// followed by the message.
fn code_aarch64() -> Vec<u8> {
    let len = GREETING.len() as u16;
    let msg_at = 8 * 4; // eight instructions
    let insns = [
        movz(0, 1),         // x0 = 1 (fd: stdout)
        adr(1, msg_at - 4), // x1 = the message (relative to this, the second instruction)
        movz(2, len),       // x2 = count
        movz(8, 64),        // x8 = SYS_write
        SVC0,               //
        movz(0, 0),         // x0 = 0 (status)
        movz(8, 93),        // x8 = SYS_exit
        SVC0,               //
    ];
    let mut c: Vec<u8> = insns.iter().flat_map(|i| i.to_le_bytes()).collect();
    c.extend(GREETING.as_bytes());
    c
}

/// The program for an OCI architecture name: (ELF `e_machine`, segment alignment, code).
fn target(arch: &str) -> Option<(u16, u64, Vec<u8>)> {
    match arch {
        "amd64" => Some((62, 0x1000, code_x86_64())), // EM_X86_64, 4 KiB pages
        "arm64" => Some((183, 0x1_0000, code_aarch64())), // EM_AARCH64, up to 64 KiB pages
        _ => None,
    }
}

/// A complete static ELF64 executable: file header, one PT_LOAD program header mapping the whole file
/// read+execute at [`BASE`], then the code. No sections, no interpreter, no libc.
fn elf(machine: u16, align: u64, code: Vec<u8>) -> Vec<u8> {
    let headers = u64::from(EHDR_SIZE) + u64::from(PHDR_SIZE);
    let total = headers + code.len() as u64;
    let mut e = Vec::with_capacity(total as usize);
    // e_ident: magic, ELFCLASS64 (2), ELFDATA2LSB (1), EV_CURRENT (1), ELFOSABI_SYSV (0), ABI version 0, padding.
    e.extend([0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    e.extend(2u16.to_le_bytes()); // e_type: ET_EXEC (fixed addresses)
    e.extend(machine.to_le_bytes()); // e_machine: the CPU
    e.extend(1u32.to_le_bytes()); // e_version: EV_CURRENT
    e.extend((BASE + headers).to_le_bytes()); // e_entry: first instruction, right after the headers
    e.extend(u64::from(EHDR_SIZE).to_le_bytes()); // e_phoff: program headers follow the file header
    e.extend(0u64.to_le_bytes()); // e_shoff: no section headers
    e.extend(0u32.to_le_bytes()); // e_flags: none defined for x86-64 or AArch64
    e.extend(EHDR_SIZE.to_le_bytes()); // e_ehsize
    e.extend(PHDR_SIZE.to_le_bytes()); // e_phentsize
    e.extend(1u16.to_le_bytes()); // e_phnum: one segment
    e.extend(64u16.to_le_bytes()); // e_shentsize: size a section header would have
    e.extend(0u16.to_le_bytes()); // e_shnum: none
    e.extend(0u16.to_le_bytes()); // e_shstrndx: SHN_UNDEF
                                  // Program header: the whole file as one loadable segment.
    e.extend(1u32.to_le_bytes()); // p_type: PT_LOAD
    e.extend(5u32.to_le_bytes()); // p_flags: PF_R | PF_X (no write: the code and message are constants)
    e.extend(0u64.to_le_bytes()); // p_offset: from the start of the file
    e.extend(BASE.to_le_bytes()); // p_vaddr
    e.extend(BASE.to_le_bytes()); // p_paddr (unused on Linux; conventionally = p_vaddr)
    e.extend(total.to_le_bytes()); // p_filesz
    e.extend(total.to_le_bytes()); // p_memsz: no .bss
    e.extend(align.to_le_bytes()); // p_align: the largest page size (BASE and offset 0 satisfy it)
    debug_assert_eq!(e.len() as u64, headers);
    e.extend(code);
    e
}

/// One ustar header field: `value` as zero-padded octal in `width - 1` digits plus a NUL.
fn octal(field: &mut [u8], value: u64) {
    let s = format!("{value:0w$o}", w = field.len() - 1);
    field[..s.len()].copy_from_slice(s.as_bytes());
    field[s.len()] = 0;
}

/// A POSIX ustar archive holding one regular file `name` (mode `mode`, owner 0:0, mtime 0): a 512-byte header,
/// the data padded to 512, and the two zero blocks that end an archive. Deterministic by construction.
pub fn tar_one_file(name: &str, mode: u32, data: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes()); // name[100]
    octal(&mut h[100..108], u64::from(mode)); // mode
    octal(&mut h[108..116], 0); // uid
    octal(&mut h[116..124], 0); // gid
    octal(&mut h[124..136], data.len() as u64); // size
    octal(&mut h[136..148], 0); // mtime: the epoch, for reproducible digests
    h[148..156].fill(b' '); // chksum: counted as spaces while summing
    h[156] = b'0'; // typeflag: regular file
    h[257..263].copy_from_slice(b"ustar\0"); // magic
    h[263..265].copy_from_slice(b"00"); // version
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    let mut out = h.to_vec();
    out.extend(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out.resize(out.len() + 1024, 0);
    out
}

/// The `/hello` executable for an OCI architecture (`amd64`, `arm64`).
pub fn program(arch: &str) -> anyhow::Result<Vec<u8>> {
    let (machine, align, code) = target(arch).ok_or_else(|| {
        anyhow::anyhow!(
            "the built-in hello image exists for amd64 and arm64 only (this host is {arch}); pull or load an image instead"
        )
    })?;
    Ok(elf(machine, align, code))
}

/// The image's blobs for `arch`: (layer, config, manifest), each deterministic.
pub fn image_blobs(arch: &str) -> anyhow::Result<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let layer = tar_one_file("hello", 0o755, &program(arch)?);
    let diff_id = Digest::sha256_of(&layer).to_string();
    let config = serde_json::to_vec(&json!({
        "architecture": arch,
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": { "Cmd": ["/hello"], "Env": [gantry_image::bundle::DEFAULT_PATH] },
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
        "history": [{ "created": "1970-01-01T00:00:00Z", "created_by": "gantry built-in hello" }],
    }))?;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": Digest::sha256_of(&config).to_string(),
            "size": config.len(),
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": diff_id,
            "size": layer.len(),
        }],
    }))?;
    Ok((layer, config, manifest))
}

/// Puts the built-in image's blobs into `store` (verified like any other blob) and registers [`NAME`].
pub fn import(store: &Store) -> anyhow::Result<()> {
    let platform = Platform::host();
    let (layer, config, manifest) = image_blobs(&platform.architecture)?;
    store.put_blob(&layer, None)?;
    store.put_blob(&config, None)?;
    let top = Digest::sha256_of(&manifest);
    store.put_blob(&manifest, Some(&top))?;
    store.register_image(NAME, &top, &platform)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_layout() {
        let e = program("amd64").unwrap();
        assert_eq!(&e[..4], b"\x7fELF");
        let entry = u64::from_le_bytes(e[24..32].try_into().unwrap());
        assert_eq!(entry, BASE + 120);
        let filesz = u64::from_le_bytes(e[96..104].try_into().unwrap());
        assert_eq!(filesz, e.len() as u64);
        assert!(e.ends_with(GREETING.as_bytes()));
        // lea's displacement points at the message.
        let code = &e[120..];
        let disp = u32::from_le_bytes(code[13..17].try_into().unwrap()) as usize;
        assert_eq!(&code[17 + disp..], GREETING.as_bytes());
    }

    #[test]
    fn tar_is_valid_and_deterministic() {
        let t = tar_one_file("hello", 0o755, b"abc");
        assert_eq!(t.len(), 512 * 4);
        assert_eq!(&t[512..515], b"abc");
        let sum: u32 = t[..512]
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u32::from(b)
                }
            })
            .sum();
        let recorded = u32::from_str_radix(std::str::from_utf8(&t[148..154]).unwrap(), 8).unwrap();
        assert_eq!(sum, recorded);
        assert_eq!(image_blobs("amd64").unwrap(), image_blobs("amd64").unwrap());
        assert!(image_blobs("riscv64").is_err());
        assert_ne!(image_blobs("arm64").unwrap(), image_blobs("amd64").unwrap());
    }

    #[test]
    fn aarch64_encodings() {
        // Encodings worked out from the Arm ARM tables (MOVZ, ADR).
        assert_eq!(movz(0, 1), 0xd280_0020); // mov x0, #1
        assert_eq!(movz(8, 93), 0xd280_0ba8); // mov x8, #93
        assert_eq!(adr(1, 28), 0x1000_00e1); // adr x1, .+28
        assert_eq!(adr(1, 29), 0x3000_00e1); // adr x1, .+29 (immlo = 1)
        let e = program("arm64").unwrap();
        assert_eq!(u16::from_le_bytes([e[18], e[19]]), 183);
        assert!(e.ends_with(GREETING.as_bytes()));
    }

    /// Runs the arm64 program under qemu-user (`apt-get install qemu-user`; scripts/test.sh installs it).
    #[test]
    fn aarch64_program_runs_under_qemu() {
        let Ok(qemu) = which("qemu-aarch64") else {
            panic!("qemu-aarch64 is not on PATH: install qemu-user (apt-get install qemu-user), as scripts/test.sh does");
        };
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hello");
        std::fs::write(&p, program("arm64").unwrap()).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = std::process::Command::new(qemu).arg(&p).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(out.stdout, GREETING.as_bytes());
    }

    fn which(name: &str) -> Result<std::path::PathBuf, ()> {
        std::env::var_os("PATH")
            .and_then(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join(name))
                    .find(|f| f.is_file())
            })
            .ok_or(())
    }
}
