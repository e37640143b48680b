//! The L1 generator: CloudFormation registry schemas (JSON) in, one Rust module per service out.
//!
//! Every naming rule lives in [`naming`]; the list of generated types is [`RESOURCE_TYPES`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value as Json;

/// The resource types cdkrs generates. Adding a type is one line here.
pub const RESOURCE_TYPES: &[&str] = &[
    "AWS::EC2::EIP",
    "AWS::EC2::FlowLog",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::NatGateway",
    "AWS::EC2::Route",
    "AWS::EC2::RouteTable",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::Subnet",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::VPC",
    "AWS::EC2::VPCEndpoint",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::IAM::InstanceProfile",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Policy",
    "AWS::IAM::Role",
    "AWS::KMS::Alias",
    "AWS::KMS::Key",
    "AWS::Lambda::Function",
    "AWS::Lambda::Permission",
    "AWS::Logs::LogGroup",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::SSM::Parameter",
    "AWS::SecretsManager::Secret",
];

/// Types whose every top-level property is also a `Fn::GetAtt` attribute (older resource
/// providers; CloudFormation documents `Fn::GetAtt Vpc.CidrBlock`, `Subnet.AvailabilityZone`,
/// `Parameter.Value` and so on), besides their read-only properties.
const ALL_PROPERTIES_GETTABLE: &[&str] = &[
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::Subnet",
    "AWS::EC2::VPC",
    "AWS::SSM::Parameter",
];

/// The region whose schema set is used.
const REGION: &str = "us-east-1";

/// Where the schemas come from.
pub struct SchemaSource {
    dir: PathBuf,
    /// The cfn-lint version that shipped them (written into every file's preamble).
    pub version: String,
}

impl SchemaSource {
    /// A schemas directory given by hand (`.../cfnlint/data/schemas`); its version is read from
    /// the `cfnlint/version.py` beside it.
    pub fn from_dir(dir: PathBuf) -> Result<Self> {
        let version_file = dir.join("../../version.py");
        let text = std::fs::read_to_string(&version_file)
            .with_context(|| format!("reading {}", version_file.display()))?;
        let version = text
            .lines()
            .find(|l| l.starts_with("__version__"))
            .and_then(|l| l.split('"').nth(1))
            .ok_or_else(|| anyhow!("no version string in {}", version_file.display()))?
            .to_owned();
        Ok(SchemaSource { dir, version })
    }

    /// The schemas of the cfn-lint installed in the repository's `.venv` (made by
    /// `scripts/test`), else of the `python3` on PATH.
    pub fn discover(root: &Path) -> Result<Self> {
        let venv_python = root.join(".venv/bin/python");
        let python = if venv_python.exists() {
            venv_python
        } else {
            PathBuf::from("python3")
        };
        let out = Command::new(&python)
            .args([
                "-c",
                "import cfnlint, os; print(os.path.join(os.path.dirname(cfnlint.__file__), 'data', 'schemas'))",
            ])
            .output()
            .with_context(|| format!("running {}", python.display()))?;
        if !out.status.success() {
            bail!(
                "cfn-lint is not importable by {} (run scripts/test once to create .venv): {}",
                python.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        SchemaSource::from_dir(dir)
    }

    fn load(&self, type_name: &str, index: &BTreeMap<String, String>) -> Result<Json> {
        let hash = index
            .get(type_name)
            .ok_or_else(|| anyhow!("{type_name} is not in the {REGION} schema set"))?;
        let path = self.dir.join("resources").join(format!("{hash}.json"));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// The `"TYPE": "HASH"` lines of `providers/<region>.py` (read as data).
    fn index(&self) -> Result<BTreeMap<String, String>> {
        let path = self
            .dir
            .join("providers")
            .join(format!("{}.py", REGION.replace('-', "_")));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let mut out = BTreeMap::new();
        for line in text.lines() {
            let parts: Vec<&str> = line.split('"').collect();
            if parts.len() >= 5 && parts[1].contains("::") {
                out.insert(parts[1].to_owned(), parts[3].to_owned());
            }
        }
        if out.is_empty() {
            bail!("no resource types found in {}", path.display());
        }
        Ok(out)
    }
}

/// Generates every file: `(file name, contents)`, sorted by name.
pub fn generate(source: &SchemaSource) -> Result<BTreeMap<String, String>> {
    let index = source.index()?;
    let mut by_service: BTreeMap<String, Vec<(String, Json)>> = BTreeMap::new();
    for &t in RESOURCE_TYPES {
        let schema = source.load(t, &index)?;
        let service = naming::service_module(t)?;
        by_service
            .entry(service)
            .or_default()
            .push((t.to_owned(), schema));
    }
    let preamble = format!(
        "// @generated by `cargo run -p xtask -- codegen` from the CloudFormation registry schemas\n\
         // shipped with cfn-lint {} (region {REGION}). Do not edit by hand: change the generator.\n\n",
        source.version
    );
    let mut files = BTreeMap::new();
    let mut mod_rs = preamble.clone();
    mod_rs.push_str("//! Generated L1 resources, one module per AWS service.\n\n");
    let mut metas = Vec::new();
    for (service, types) in &by_service {
        let _ = writeln!(mod_rs, "pub mod {service};");
        let mut code = preamble.clone();
        let names: Vec<&str> = types.iter().map(|(t, _)| t.as_str()).collect();
        let _ = writeln!(
            code,
            "//! L1 resources of `AWS::{}`: {}.\n",
            types[0].0.split("::").nth(1).unwrap_or_default(),
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for (t, schema) in types {
            let gen = ResourceGen::new(t, schema)?;
            metas.push(format!(
                "<{service}::{} as crate::Resource>::META",
                gen.struct_name
            ));
            code.push_str(&gen.render()?);
        }
        files.insert(format!("{service}.rs"), rustfmt(&code)?);
    }
    let _ = write!(
        mod_rs,
        "\n/// The registry facts of every generated type, sorted by type name.\n\
         pub static ALL_META: &[crate::ResourceMeta] = &[{}];\n",
        metas.join(", ")
    );
    files.insert("mod.rs".to_owned(), rustfmt(&mod_rs)?);
    Ok(files)
}

/// The files whose committed contents differ from `files`, plus unexpected extra files.
pub fn stale_files(dir: &Path, files: &BTreeMap<String, String>) -> Result<Vec<String>> {
    let mut stale = Vec::new();
    for (name, contents) in files {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(old) if &old == contents => {}
            _ => stale.push(name.clone()),
        }
    }
    for extra in existing_rs(dir)? {
        if !files.contains_key(&extra) {
            stale.push(format!("{extra} (not generated any more)"));
        }
    }
    Ok(stale)
}

/// Writes `files` and removes generated files that are no longer produced.
pub fn write(dir: &Path, files: &BTreeMap<String, String>) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for extra in existing_rs(dir)? {
        if !files.contains_key(&extra) {
            std::fs::remove_file(dir.join(&extra))?;
        }
    }
    for (name, contents) in files {
        std::fs::write(dir.join(name), contents)
            .with_context(|| format!("writing {}", dir.join(name).display()))?;
    }
    Ok(())
}

fn existing_rs(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let name = e?.file_name().to_string_lossy().into_owned();
            if name.ends_with(".rs") {
                out.push(name);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn rustfmt(code: &str) -> Result<String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running rustfmt (install it with `rustup component add rustfmt`)")?;
    child
        .stdin
        .take()
        .context("rustfmt stdin")?
        .write_all(code.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "rustfmt rejected the generated code: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// Naming rules, all in one place.
pub mod naming {
    use anyhow::{anyhow, Result};
    use heck::{ToSnakeCase, ToUpperCamelCase};

    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
        "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop",
        "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return", "self",
        "static", "struct", "super", "trait", "true", "try", "type", "typeof", "unsafe", "unsized",
        "use", "virtual", "where", "while", "yield",
    ];

    /// `AWS::EC2::VPC` -> `ec2`.
    pub fn service_module(type_name: &str) -> Result<String> {
        let service = type_name
            .split("::")
            .nth(1)
            .ok_or_else(|| anyhow!("malformed type name {type_name}"))?;
        Ok(service.to_lowercase())
    }

    /// `AWS::EC2::VPCEndpoint` -> `CfnVpcEndpoint`.
    pub fn resource_struct(type_name: &str) -> String {
        format!(
            "Cfn{}",
            type_ident(type_name.rsplit("::").next().unwrap_or(type_name))
        )
    }

    /// `AWS::EC2::VPCEndpoint` -> `vpc_endpoint` (the module of its property types).
    pub fn resource_module(type_name: &str) -> String {
        field_ident(type_name.rsplit("::").next().unwrap_or(type_name))
    }

    /// A CloudFormation property or definition name as a Rust type name (`SSESpecification` ->
    /// `SseSpecification`).
    pub fn type_ident(name: &str) -> String {
        let s = name.to_upper_camel_case();
        if s.is_empty() {
            "Unnamed".to_owned()
        } else if s.starts_with(|c: char| c.is_ascii_digit()) {
            format!("T{s}")
        } else {
            s
        }
    }

    /// A CloudFormation property name as a Rust field name (`KMSMasterKeyID` ->
    /// `kms_master_key_id`, `Type` -> `type_`).
    pub fn field_ident(name: &str) -> String {
        let s = name.to_snake_case();
        if KEYWORDS.contains(&s.as_str()) {
            format!("{s}_")
        } else {
            s
        }
    }

    /// An enum value as a variant name (`aws:kms` -> `AwsKms`, `3` -> `V3`).
    pub fn variant_ident(value: &str) -> String {
        let cleaned: String = value
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let s = cleaned.to_upper_camel_case();
        if s.is_empty() {
            "Empty".to_owned()
        } else if s.starts_with(|c: char| c.is_ascii_digit()) {
            format!("V{s}")
        } else {
            s
        }
    }

    /// An attribute path (`Endpoint.Address`) as a getter name (`attr_endpoint_address`).
    pub fn attr_method(attr: &str) -> String {
        format!(
            "attr_{}",
            attr.split('.')
                .map(|p| p.to_snake_case())
                .collect::<Vec<_>>()
                .join("_")
        )
    }
}

/// A Rust type for a schema node.
#[derive(Clone, Debug, PartialEq)]
enum Ty {
    /// `crate::Value<inner>`.
    Value(String),
    /// A generated (or shared) struct, by path.
    Struct(String),
    /// `Vec<struct>`.
    VecOf(Box<Ty>),
    /// `BTreeMap<String, ty>`.
    Map(Box<Ty>),
}

impl Ty {
    fn render(&self) -> String {
        match self {
            Ty::Value(inner) => format!("crate::Value<{inner}>"),
            Ty::Struct(p) => p.clone(),
            Ty::VecOf(t) => format!("Vec<{}>", t.render()),
            Ty::Map(t) => format!("std::collections::BTreeMap<String, {}>", t.render()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Ty::Value(inner) => inner.replace("crate::", ""),
            Ty::Struct(p) => p.replace("crate::", ""),
            Ty::VecOf(t) => format!("list of {}", t.describe()),
            Ty::Map(t) => format!("map of {}", t.describe()),
        }
    }
}

/// The generator state for one resource type.
struct ResourceGen<'a> {
    type_name: &'a str,
    schema: &'a Json,
    struct_name: String,
    module: String,
    /// Items generated into the resource's property module, by name.
    items: BTreeMap<String, String>,
    /// Definition name -> its type (memo, also breaks recursion).
    defs: BTreeMap<String, Ty>,
    read_only: BTreeSet<String>,
    create_only: BTreeSet<String>,
    write_only: BTreeSet<String>,
    /// Enum name -> its values, to reuse an identical enum instead of numbering a new one.
    enums: BTreeMap<String, Vec<String>>,
    /// The struct whose fields are being generated (names a colliding inline type).
    parent: String,
}

fn strings(schema: &Json, key: &str) -> Vec<String> {
    schema
        .get(key)
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn is_tag_shape(def: &Json) -> bool {
    let Some(props) = def.get("properties").and_then(Json::as_object) else {
        return false;
    };
    props.len() == 2
        && ["Key", "Value"].iter().all(|k| {
            props
                .get(*k)
                .and_then(|p| p.get("type"))
                .and_then(Json::as_str)
                == Some("string")
        })
}

impl<'a> ResourceGen<'a> {
    fn new(type_name: &'a str, schema: &'a Json) -> Result<Self> {
        if schema.get("typeName").and_then(Json::as_str) != Some(type_name) {
            bail!("schema for {type_name} names another type");
        }
        Ok(ResourceGen {
            type_name,
            schema,
            struct_name: naming::resource_struct(type_name),
            module: naming::resource_module(type_name),
            items: BTreeMap::new(),
            defs: BTreeMap::new(),
            read_only: strings(schema, "readOnlyProperties").into_iter().collect(),
            create_only: strings(schema, "createOnlyProperties")
                .into_iter()
                .collect(),
            write_only: strings(schema, "writeOnlyProperties").into_iter().collect(),
            enums: BTreeMap::new(),
            parent: String::new(),
        })
    }

    fn definition(&self, reference: &str) -> Result<(&'a Json, String)> {
        let name = reference
            .strip_prefix("#/definitions/")
            .ok_or_else(|| anyhow!("{}: unsupported $ref {reference}", self.type_name))?;
        let def = self
            .schema
            .get("definitions")
            .and_then(|d| d.get(name))
            .ok_or_else(|| anyhow!("{}: missing definition {name}", self.type_name))?;
        Ok((def, name.to_owned()))
    }

    /// A free name in the property module for a new item.
    fn claim(&self, wanted: &str) -> String {
        let base = naming::type_ident(wanted);
        let free = |n: &String| !self.items.contains_key(n) && n != "Tag";
        if free(&base) {
            return base;
        }
        let qualified = naming::type_ident(&format!("{}{wanted}", self.parent));
        if free(&qualified) {
            return qualified;
        }
        (2..)
            .map(|i| format!("{base}{i}"))
            .find(|n| !self.items.contains_key(n))
            .expect("an unused name exists")
    }

    fn resolve(&mut self, node: &'a Json, hint: &str, path: &str) -> Result<Ty> {
        if let Some(r) = node.get("$ref").and_then(Json::as_str) {
            let (def, name) = self.definition(r)?;
            if is_tag_shape(def) {
                return Ok(Ty::Struct("crate::Tag".to_owned()));
            }
            if let Some(t) = self.defs.get(&name) {
                return Ok(t.clone());
            }
            if def.get("properties").is_some() {
                // Reserve the name first so recursive definitions terminate.
                let item = self.claim(&name);
                let ty = Ty::Struct(format!("{}::{item}", self.module));
                self.defs.insert(name.clone(), ty.clone());
                self.items.insert(item.clone(), String::new());
                let code = self.gen_struct(&item, def, path, &format!("definition `{name}`"))?;
                self.items.insert(item, code);
                return Ok(ty);
            }
            let ty = self.resolve(def, &name, path)?;
            self.defs.insert(name, ty.clone());
            return Ok(ty);
        }
        match node.get("type") {
            Some(Json::Array(_)) => Ok(Ty::Value("crate::Json".into())),
            Some(Json::String(t)) => match t.as_str() {
                "string" => match node.get("enum").and_then(Json::as_array) {
                    Some(values) if !values.is_empty() => {
                        let name = self.gen_enum(hint, values)?;
                        Ok(Ty::Value(format!("{}::{name}", self.module)))
                    }
                    _ => Ok(Ty::Value("String".into())),
                },
                "integer" => Ok(Ty::Value("i64".into())),
                "number" => Ok(Ty::Value("f64".into())),
                "boolean" => Ok(Ty::Value("bool".into())),
                "array" => {
                    let items = node.get("items").ok_or_else(|| {
                        anyhow!("{}: array without items at {path}", self.type_name)
                    })?;
                    match self.resolve(items, hint, path)? {
                        Ty::Value(inner) => Ok(Ty::Value(format!("Vec<{inner}>"))),
                        other => Ok(Ty::VecOf(Box::new(other))),
                    }
                }
                "object" => self.resolve_object(node, hint, path),
                other => bail!("{}: unsupported type {other} at {path}", self.type_name),
            },
            Some(other) => bail!("{}: malformed type {other} at {path}", self.type_name),
            None => {
                if node.get("properties").is_some() {
                    return self.resolve_object(node, hint, path);
                }
                // `anyOf` of formats (an id, an ARN or a name of something) is still a string.
                let alternatives = node
                    .get("anyOf")
                    .or_else(|| node.get("oneOf"))
                    .and_then(Json::as_array);
                if let Some(alts) = alternatives {
                    let stringy = alts.iter().all(|a| {
                        a.get("format").is_some()
                            || a.get("relationshipRef").is_some()
                            || a.get("type").and_then(Json::as_str) == Some("string")
                    });
                    if stringy {
                        return Ok(Ty::Value("String".into()));
                    }
                }
                Ok(Ty::Value("crate::Json".into()))
            }
        }
    }

    fn resolve_object(&mut self, node: &'a Json, hint: &str, path: &str) -> Result<Ty> {
        if node
            .get("properties")
            .and_then(Json::as_object)
            .is_some_and(|p| !p.is_empty())
        {
            let item = self.claim(hint);
            self.items.insert(item.clone(), String::new());
            let code = self.gen_struct(&item, node, path, &format!("property `{hint}`"))?;
            self.items.insert(item.clone(), code);
            return Ok(Ty::Struct(format!("{}::{item}", self.module)));
        }
        if let Some(pp) = node.get("patternProperties").and_then(Json::as_object) {
            if pp.len() == 1 {
                let inner = pp.values().next().expect("one entry");
                if inner.get("type").and_then(Json::as_str) == Some("string") {
                    return Ok(Ty::Map(Box::new(Ty::Value("String".into()))));
                }
            }
        }
        Ok(Ty::Value("crate::Json".into()))
    }

    fn gen_enum(&mut self, hint: &str, values: &[Json]) -> Result<String> {
        let wanted: Vec<String> = values
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        for candidate in [
            naming::type_ident(hint),
            naming::type_ident(&format!("{}{hint}", self.parent)),
        ] {
            if self.enums.get(&candidate) == Some(&wanted) {
                return Ok(candidate);
            }
        }
        let name = self.claim(hint);
        self.enums.insert(name.clone(), wanted);
        let mut used = BTreeSet::new();
        let mut variants = String::new();
        for v in values {
            let Some(s) = v.as_str() else { continue };
            let mut ident = naming::variant_ident(s);
            while !used.insert(ident.clone()) {
                ident.push('_');
            }
            let _ = writeln!(
                variants,
                "    /// `{s}`\n    #[serde(rename = {s:?})]\n    {ident},"
            );
        }
        let code = format!(
            "/// Allowed values of `{hint}`.\n\
             #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]\n\
             pub enum {name} {{\n{variants}}}\n\n\
             impl crate::Literal for {name} {{}}\n\n"
        );
        self.items.insert(name.clone(), code);
        Ok(name)
    }

    /// The fields of an object node: `(doc, serde name, field name, type, required)`.
    fn fields(&mut self, node: &'a Json, path: &str) -> Result<Vec<Field>> {
        let required: BTreeSet<String> = strings(node, "required").into_iter().collect();
        let mut out = Vec::new();
        let Some(props) = node.get("properties").and_then(Json::as_object) else {
            return Ok(out);
        };
        for (name, prop) in props {
            let prop_path = format!("{path}/{name}");
            if self.read_only.contains(&prop_path) {
                continue;
            }
            let ty = self.resolve(prop, name, &prop_path)?;
            let is_required = required.contains(name);
            let doc = self.field_doc(name, prop, &ty, is_required, &prop_path);
            out.push(Field {
                doc,
                cfn_name: name.clone(),
                ident: naming::field_ident(name),
                ty,
                required: is_required,
            });
        }
        Ok(out)
    }

    fn field_doc(&self, name: &str, prop: &Json, ty: &Ty, required: bool, path: &str) -> String {
        let mut parts = vec![format!("`{name}`: `{}`.", ty.describe())];
        if required {
            parts.push("Required.".into());
        }
        if self.create_only.contains(path) {
            parts.push("Create-only: a change replaces the resource.".into());
        }
        if self.write_only.contains(path) {
            parts.push("Write-only: never read back.".into());
        }
        let node = prop.get("items").unwrap_or(prop);
        if let Some(f) = node.get("format").and_then(Json::as_str) {
            parts.push(format!("Format `{f}`."));
        }
        if let Some(p) = node.get("pattern").and_then(Json::as_str) {
            if !p.contains('`') && !p.contains(char::is_control) && p.len() <= 120 {
                parts.push(format!("Pattern `{p}`."));
            }
        }
        let range = |lo: &str, hi: &str, what: &str| -> Option<String> {
            match (node.get(lo), node.get(hi)) {
                (Some(a), Some(b)) => Some(format!("{what} {a} to {b}.")),
                (Some(a), None) => Some(format!("{what} at least {a}.")),
                (None, Some(b)) => Some(format!("{what} at most {b}.")),
                _ => None,
            }
        };
        parts.extend(range("minLength", "maxLength", "Length"));
        parts.extend(range("minimum", "maximum", "Value"));
        parts
            .extend(range("minItems", "maxItems", "Items").filter(|_| prop.get("items").is_some()));
        if let Some(d) = prop.get("default") {
            let s = d.to_string();
            if s.len() <= 60 && !s.contains('`') && !s.contains("\\n") {
                parts.push(format!("Default `{s}`."));
            }
        }
        parts.join(" ")
    }

    fn gen_struct(&mut self, name: &str, node: &'a Json, path: &str, what: &str) -> Result<String> {
        let outer = std::mem::replace(&mut self.parent, name.to_owned());
        let fields = self.fields(node, path);
        self.parent = outer;
        let fields = fields?;
        let mut code = String::new();
        let _ = writeln!(code, "/// The {what} of `{}`.", self.type_name);
        code.push_str(&render_struct(name, &fields));
        Ok(code)
    }

    fn attributes(&self) -> Vec<(String, Ty)> {
        let mut paths: BTreeSet<String> = self.read_only.clone();
        if ALL_PROPERTIES_GETTABLE.contains(&self.type_name) {
            if let Some(props) = self.schema.get("properties").and_then(Json::as_object) {
                paths.extend(props.keys().map(|k| format!("/properties/{k}")));
            }
        }
        let mut out = Vec::new();
        for p in paths {
            let Some(rest) = p.strip_prefix("/properties/") else {
                continue;
            };
            let segments: Vec<&str> = rest.split('/').collect();
            let Some(node) = self.node_at(&segments) else {
                continue;
            };
            let ty = match node.get("type").and_then(Json::as_str) {
                Some("string") | None
                    if node.get("properties").is_none() && node.get("$ref").is_none() =>
                {
                    "String"
                }
                Some("integer") => "i64",
                Some("number") => "f64",
                Some("boolean") => "bool",
                Some("array")
                    if node
                        .get("items")
                        .and_then(|i| i.get("type"))
                        .and_then(Json::as_str)
                        == Some("string") =>
                {
                    "Vec<String>"
                }
                _ => continue,
            };
            out.push((segments.join("."), Ty::Value(ty.to_owned())));
        }
        out
    }

    /// The schema node at a property path, following `$ref`s.
    fn node_at(&self, segments: &[&str]) -> Option<&'a Json> {
        let mut node: &'a Json = self.schema;
        for seg in segments {
            node = node.get("properties")?.get(*seg)?;
            while let Some(r) = node.get("$ref").and_then(Json::as_str) {
                node = self.definition(r).ok()?.0;
            }
        }
        Some(node)
    }

    fn render(mut self) -> Result<String> {
        self.parent = self.struct_name.trim_start_matches("Cfn").to_owned();
        let fields = self.fields(self.schema, "/properties")?;
        let attrs = self.attributes();
        let s = &self.struct_name;
        let t = self.type_name;
        let mut code = String::new();
        let primary = strings(self.schema, "primaryIdentifier");
        let _ = writeln!(code, "/// `{t}` (L1: exactly the CloudFormation resource).");
        let _ = writeln!(code, "///");
        let _ = writeln!(
            code,
            "/// Primary identifier: {}.",
            primary
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !attrs.is_empty() {
            let _ = writeln!(
                code,
                "/// Attributes (`Fn::GetAtt`, methods on `Handle<{s}>`): {}.",
                attrs
                    .iter()
                    .map(|(a, _)| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        code.push_str(&render_struct(s, &fields));

        let quoted = |v: &BTreeSet<String>| {
            v.iter()
                .map(|p| format!("{p:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let required: Vec<String> = strings(self.schema, "required")
            .into_iter()
            .map(|r| format!("{r:?}"))
            .collect();
        let _ = write!(
            code,
            "impl crate::Resource for {s} {{\n\
             const META: crate::ResourceMeta = crate::ResourceMeta {{\n\
             type_name: {t:?},\n\
             required: &[{}],\n\
             create_only: &[{}],\n\
             read_only: &[{}],\n\
             write_only: &[{}],\n\
             primary_identifier: &[{}],\n\
             }};\n}}\n\n",
            required.join(", "),
            quoted(&self.create_only),
            quoted(&self.read_only),
            quoted(&self.write_only),
            primary
                .iter()
                .map(|p| format!("{p:?}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        if !attrs.is_empty() {
            let _ = writeln!(code, "impl crate::Handle<{s}> {{");
            for (attr, ty) in &attrs {
                let _ = writeln!(
                    code,
                    "    /// `Fn::GetAtt {}.{attr}`\n    pub fn {}(&self) -> {} {{ self.get_att({attr:?}) }}",
                    s.trim_start_matches("Cfn"),
                    naming::attr_method(attr),
                    ty.render()
                );
            }
            code.push_str("}\n\n");
        }
        let items: Vec<String> = std::mem::take(&mut self.items).into_values().collect();
        if !items.is_empty() {
            let _ = writeln!(code, "/// Property types of [`{s}`].");
            let _ = writeln!(code, "pub mod {} {{", self.module);
            for item in items {
                code.push_str(&item);
            }
            code.push_str("}\n\n");
        }
        // Property types are referenced as `module::Name` from the parent; inside the module they
        // are siblings, so strip that prefix there.
        let prefix = format!("{}::", self.module);
        let (head, tail) = match code.find(&format!("pub mod {} {{", self.module)) {
            Some(i) => code.split_at(i),
            None => (code.as_str(), ""),
        };
        Ok(format!("{head}{}", tail.replace(&prefix, "")))
    }
}

struct Field {
    doc: String,
    cfn_name: String,
    ident: String,
    ty: Ty,
    required: bool,
}

fn render_struct(name: &str, fields: &[Field]) -> String {
    let any_required = fields.iter().any(|f| f.required);
    let mut code = String::new();
    let derives = if any_required {
        "Debug, Clone, PartialEq, serde::Serialize"
    } else {
        "Debug, Clone, Default, PartialEq, serde::Serialize"
    };
    let _ = writeln!(code, "#[derive({derives})]\npub struct {name} {{");
    for f in fields {
        let _ = writeln!(code, "    /// {}", f.doc);
        if f.required {
            let _ = writeln!(code, "    #[serde(rename = {:?})]", f.cfn_name);
            let _ = writeln!(code, "    pub {}: {},", f.ident, f.ty.render());
        } else {
            let _ = writeln!(
                code,
                "    #[serde(rename = {:?}, skip_serializing_if = \"Option::is_none\")]",
                f.cfn_name
            );
            let _ = writeln!(code, "    pub {}: Option<{}>,", f.ident, f.ty.render());
        }
    }
    code.push_str("}\n\n");
    if any_required {
        let req: Vec<&Field> = fields.iter().filter(|f| f.required).collect();
        let params: Vec<String> = req
            .iter()
            .map(|f| match &f.ty {
                Ty::Value(inner) => format!("{}: impl Into<crate::Value<{inner}>>", f.ident),
                other => format!("{}: {}", f.ident, other.render()),
            })
            .collect();
        let inits: Vec<String> = fields
            .iter()
            .map(|f| match (&f.ty, f.required) {
                (Ty::Value(_), true) => format!("{}: {}.into()", f.ident, f.ident),
                (_, true) => f.ident.clone(),
                (_, false) => format!("{}: None", f.ident),
            })
            .collect();
        let _ = write!(
            code,
            "impl {name} {{\n\
             /// A value with the required properties set and every optional one unset.\n\
             pub fn new({}) -> Self {{\n{name} {{ {} }}\n}}\n}}\n\n",
            params.join(", "),
            inits.join(", ")
        );
    }
    code
}

#[cfg(test)]
mod tests {
    use super::naming::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn names_follow_rust_conventions() {
        assert_eq!(service_module("AWS::EC2::VPC").unwrap(), "ec2");
        assert_eq!(resource_struct("AWS::EC2::VPCEndpoint"), "CfnVpcEndpoint");
        assert_eq!(resource_struct("AWS::EC2::EIP"), "CfnEip");
        assert_eq!(
            resource_module("AWS::EC2::VPCGatewayAttachment"),
            "vpc_gateway_attachment"
        );
        assert_eq!(field_ident("KMSMasterKeyID"), "kms_master_key_id");
        assert_eq!(field_ident("SSEAlgorithm"), "sse_algorithm");
        assert_eq!(field_ident("Type"), "type_");
        assert_eq!(variant_ident("aws:kms"), "AwsKms");
        assert_eq!(variant_ident("AES256"), "Aes256");
        assert_eq!(variant_ident("3"), "V3");
        assert_eq!(variant_ident(""), "Empty");
        assert_eq!(attr_method("Endpoint.Address"), "attr_endpoint_address");
    }

    fn gen(schema: serde_json::Value) -> String {
        ResourceGen::new("AWS::Test::Thing", &schema)
            .unwrap()
            .render()
            .unwrap()
    }

    #[test]
    fn required_properties_are_plain_fields_and_read_only_ones_become_attributes() {
        let code = gen(json!({
            "typeName": "AWS::Test::Thing",
            "properties": {
                "Name": {"type": "string"},
                "Size": {"type": "integer"},
                "Arn": {"type": "string"},
                "Mode": {"type": "string", "enum": ["fast", "slow"]},
                "Tags": {"type": "array", "items": {"$ref": "#/definitions/Tag"}}
            },
            "definitions": {"Tag": {"type": "object", "properties": {
                "Key": {"type": "string"}, "Value": {"type": "string"}}}},
            "required": ["Name"],
            "readOnlyProperties": ["/properties/Arn"],
            "createOnlyProperties": ["/properties/Name"],
            "primaryIdentifier": ["/properties/Arn"]
        }));
        assert!(code.contains("pub name: crate::Value<String>,"), "{code}");
        assert!(
            code.contains("pub size: Option<crate::Value<i64>>,"),
            "{code}"
        );
        assert!(
            code.contains("pub tags: Option<Vec<crate::Tag>>,"),
            "{code}"
        );
        assert!(!code.contains("pub arn:"), "{code}");
        assert!(
            code.contains("pub fn attr_arn(&self) -> crate::Value<String>"),
            "{code}"
        );
        assert!(
            code.contains("Create-only: a change replaces the resource."),
            "{code}"
        );
        assert!(code.contains("pub enum Mode"), "{code}");
        assert!(code.contains("#[serde(rename = \"fast\")]"), "{code}");
        assert!(code.contains("required: &[\"Name\"]"), "{code}");
        assert!(
            code.contains("pub fn new(name: impl Into<crate::Value<String>>) -> Self"),
            "{code}"
        );
    }

    #[test]
    fn identical_enums_are_shared_and_colliding_ones_are_qualified() {
        let code = gen(json!({
            "typeName": "AWS::Test::Thing",
            "properties": {
                "A": {"$ref": "#/definitions/A"},
                "B": {"$ref": "#/definitions/B"},
                "C": {"$ref": "#/definitions/C"}
            },
            "definitions": {
                "A": {"type": "object", "properties": {
                    "Status": {"type": "string", "enum": ["Enabled", "Disabled"]}}},
                "B": {"type": "object", "properties": {
                    "Status": {"type": "string", "enum": ["On", "Off"]}}},
                "C": {"type": "object", "properties": {
                    "Status": {"type": "string", "enum": ["Enabled", "Disabled"]}}}
            },
            "primaryIdentifier": []
        }));
        assert!(code.contains("pub enum Status "), "{code}");
        assert!(code.contains("pub enum BStatus "), "{code}");
        // C's Status has A's values: it reuses `Status` instead of making a third enum.
        assert_eq!(code.matches("pub enum").count(), 2, "{code}");
    }
}
