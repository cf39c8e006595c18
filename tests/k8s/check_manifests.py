"""What the deployment relies on, asserted on one kustomize-built overlay (a YAML stream).

Schema validity is kubernetes-validate's job; this checks the wiring between objects that no
schema sees: selectors that select, references that resolve, probes on the ports served, the
trainer pointed at the annealer the overlay runs. Exits 1 naming every broken rule.
"""

import sys

import yaml

overlay, path = sys.argv[1], sys.argv[2]
with open(path) as f:
    objects = [o for o in yaml.safe_load_all(f) if o]
by = {(o["kind"], o["metadata"]["name"]): o for o in objects}
errors = []


def check(ok, message):
    if not ok:
        errors.append(message)


def workloads():
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")]


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def resolve(env):
    """The value of an env entry, following a configMapKeyRef into the built ConfigMaps."""
    if "value" in env:
        return env["value"]
    ref = env.get("valueFrom", {}).get("configMapKeyRef")
    if ref:
        cm = by.get(("ConfigMap", ref["name"]))
        return None if cm is None else cm.get("data", {}).get(ref["key"])
    return None


# Every workload: selector selects its own pods, every container probed over gRPC on a port it
# declares, requests set, non-root, read-only root.
for w in workloads():
    name = f'{w["kind"]}/{w["metadata"]["name"]}'
    spec, tpl = w["spec"], w["spec"]["template"]
    labels = tpl["metadata"]["labels"]
    sel = spec["selector"]["matchLabels"]
    check(all(labels.get(k) == v for k, v in sel.items()), f"{name}: selector {sel} misses its pods {labels}")
    check(tpl["spec"]["securityContext"].get("runAsNonRoot") is True, f"{name}: not runAsNonRoot")
    for c in tpl["spec"]["containers"]:
        ports = {p["containerPort"] for p in c.get("ports", [])}
        for probe in ("readinessProbe", "livenessProbe"):
            grpc = c.get(probe, {}).get("grpc")
            check(grpc is not None and grpc["port"] in ports, f"{name}: {probe} is not gRPC on a served port {ports}")
        check("cpu" in c.get("resources", {}).get("requests", {}), f"{name}: no cpu request")
        check(c["securityContext"].get("readOnlyRootFilesystem") is True, f"{name}: root filesystem writable")
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("configMapKeyRef")
            if ref and not ref.get("optional"):
                check(resolve(e) is not None, f'{name}: env {e["name"]} -> ConfigMap {ref["name"]}/{ref["key"]} missing')
            sref = e.get("valueFrom", {}).get("secretKeyRef")
            if sref and not sref.get("optional"):
                check(("Secret", sref["name"]) in by, f'{name}: env {e["name"]} -> Secret {sref["name"]} missing')
        for v in tpl["spec"].get("volumes", []):
            if "secret" in v:
                check(("Secret", v["secret"]["secretName"]) in by, f'{name}: volume {v["name"]} -> Secret missing')

# Every Service selects some workload's pods.
for s in [o for o in objects if o["kind"] == "Service"]:
    sel = s["spec"]["selector"]
    check(
        any(all(w["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in sel.items()) for w in workloads()),
        f'Service/{s["metadata"]["name"]}: selects no pods',
    )

# Secrets in a committed overlay only ever come from a generator over an uncommitted file.
for s in [o for o in objects if o["kind"] == "Secret"]:
    check(overlay == "hardware" and s["metadata"]["name"].startswith("qahm-dwave-token"), f'Secret/{s["metadata"]["name"]} committed in {overlay}')

trainer = by.get(("StatefulSet", "trainer"))
check(trainer is not None, "no StatefulSet/trainer")
if trainer:
    spec = trainer["spec"]
    check(spec["serviceName"] == "trainer" and by.get(("Service", "trainer"), {}).get("spec", {}).get("clusterIP") == "None",
          "trainer: governing Service trainer is not headless")
    claims = {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])}
    c = spec["template"]["spec"]["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
    env = env_of(c)
    check("runs" in claims and mounts.get("runs") == resolve(env["QAHM_RUNS_DIR"]), "trainer: runs dir is not the claimed volume")
    check(resolve(env["QAHM_RESUME_INTERRUPTED"]) == "true", "trainer: does not resume interrupted runs")
    annealer_url = resolve(env["QAHM_ANNEALER"])
    if overlay == "emulator":
        svc = by.get(("Service", "annealer"))
        check(annealer_url == "dns:///annealer:50051", f"trainer: annealer {annealer_url}, not the dns:/// pool")
        check(svc is not None and svc["spec"].get("clusterIP") == "None", "annealer Service is not headless (pool balancing needs every pod's address)")
        check(svc is not None and 50051 in [p["port"] for p in svc["spec"]["ports"]], "annealer Service does not serve 50051")
        hpa = by.get(("HorizontalPodAutoscaler", "annealer"))
        check(hpa is not None and ("Deployment", hpa["spec"]["scaleTargetRef"]["name"]) in by, "HPA does not target the annealer Deployment")
        dep = by.get(("Deployment", "annealer"))
        seed = dep and resolve(env_of(dep["spec"]["template"]["spec"]["containers"][0]).get("QAHM_ANNEALER_DEVICE_SEED", {}))
        check(seed is not None and seed.isdigit(), "annealer replicas do not share a pinned device seed")
    else:
        check(annealer_url == "http://sapi-proxy:50052", f"trainer: annealer {annealer_url}, not sapi-proxy")
        check(("Deployment", "annealer") not in by and ("HorizontalPodAutoscaler", "annealer") not in by, "hardware overlay still runs the emulator")
        proxy = by.get(("Deployment", "sapi-proxy"))
        check(proxy is not None and ("Service", "sapi-proxy") in by, "no sapi-proxy Deployment and Service")
        if proxy:
            pc = proxy["spec"]["template"]["spec"]["containers"][0]
            token_file = resolve(env_of(pc)["QAHM_SAPI_TOKEN_FILE"])
            mounted = [m["mountPath"] for m in pc.get("volumeMounts", [])]
            check(any(token_file.startswith(m + "/") for m in mounted), "sapi-proxy: token file is not in a mounted Secret")

if errors:
    for e in errors:
        print(f"FAILED: k8s {overlay}: {e}")
    sys.exit(1)
print(f"k8s: overlay {overlay}: {len(objects)} objects wired as the deployment needs")
