//! Compiles every `.proto` under `concord/` with protox (no system `protoc`),
//! generates the prost/tonic code, writes the encoded descriptor set for
//! server reflection, and compiles the `concord.policy.v1.allow` method
//! options into a static table. A method without a policy fails the build.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use prost_reflect::{DescriptorPool, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut files = Vec::new();
    collect_protos(&root.join("concord"), &mut files)?;
    files.sort();
    println!("cargo:rerun-if-changed=concord");

    let mut compiler = protox::Compiler::new([&root])?;
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(
        files
            .iter()
            .map(|f| f.strip_prefix(&root).expect("under root")),
    )?;

    // Reflection needs the imports (google/protobuf/*) too, and the options.
    std::fs::write(
        out.join("concord_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    let pool = compiler.descriptor_pool();
    std::fs::write(out.join("policy_table.rs"), policy_table(&pool)?)?;

    // prost needs the imported well-known types to decide derives; it maps
    // them to prost-types rather than generating them.
    tonic_prost_build::configure()
        .codec_path("crate::codec::ProstCodec")
        .include_file("concord.rs")
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}

fn collect_protos(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            files.push(path);
        }
    }
    Ok(())
}

/// Renders `METHODS`, sorted by gRPC path so lookups can binary-search.
fn policy_table(pool: &DescriptorPool) -> Result<String, Box<dyn std::error::Error>> {
    let allow_ext = pool
        .get_extension_by_name("concord.policy.v1.allow")
        .ok_or("concord.policy.v1.allow is not defined")?;
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    for service in pool.services() {
        if !service.full_name().starts_with("concord.") {
            continue;
        }
        for method in service.methods() {
            let path = format!("/{}/{}", service.full_name(), method.name());
            let options = method.options();
            if !options.has_extension(&allow_ext) {
                missing.push(path);
                continue;
            }
            let allow = options.get_extension(&allow_ext);
            let allow = allow.as_message().ok_or("allow is a message")?;
            let roles: Vec<i32> = match allow.get_field_by_name("roles").as_deref() {
                Some(Value::List(list)) => list.iter().filter_map(Value::as_enum_number).collect(),
                _ => Vec::new(),
            };
            let flag = |name: &str| {
                allow
                    .get_field_by_name(name)
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false)
            };
            let (any_signed_in, public) = (flag("any_signed_in"), flag("public"));
            let ways =
                usize::from(!roles.is_empty()) + usize::from(any_signed_in) + usize::from(public);
            if ways != 1 {
                return Err(format!(
                    "{path}: the allow option must name exactly one of roles, any_signed_in, public"
                )
                .into());
            }
            let allow = if public {
                "Allow::Public".to_string()
            } else if any_signed_in {
                "Allow::AnySignedIn".to_string()
            } else {
                let mut s = String::from("Allow::Roles(&[");
                for r in &roles {
                    let name = pool
                        .get_enum_by_name("concord.policy.v1.Role")
                        .and_then(|e| e.get_value(*r))
                        .ok_or("unknown role")?;
                    write!(s, "Role::{}, ", enum_variant(name.name()))?;
                }
                s.push_str("])");
                s
            };
            let safe = options
                .get_field_by_name("idempotency_level")
                .and_then(|v| v.as_enum_number())
                == Some(1); // NO_SIDE_EFFECTS
            let kind = match (method.is_client_streaming(), method.is_server_streaming()) {
                (false, false) => "Unary",
                (true, false) => "ClientStream",
                (false, true) => "ServerStream",
                (true, true) => "BidiStream",
            };
            rows.push((
                path.clone(),
                format!(
                    "    MethodInfo {{ path: {path:?}, service: {svc:?}, method: {m:?}, kind: MethodKind::{kind}, allow: {allow}, safe: {safe} }},\n",
                    svc = service.full_name(),
                    m = method.name(),
                ),
            ));
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "these RPCs have no (concord.policy.v1.allow) option: {}",
            missing.join(", ")
        )
        .into());
    }
    rows.sort();
    let mut s = String::from(
        "/// Every Concord RPC with its policy, sorted by path.\npub static METHODS: &[MethodInfo] = &[\n",
    );
    for (_, row) in rows {
        s.push_str(&row);
    }
    s.push_str("];\n");
    Ok(s)
}

/// `ROLE_DEPARTMENT_HEAD` -> `DepartmentHead`, as prost names enum variants.
fn enum_variant(name: &str) -> String {
    name.trim_start_matches("ROLE_")
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_string() + &c.as_str().to_lowercase())
                .unwrap_or_default()
        })
        .collect()
}
