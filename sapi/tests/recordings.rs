//! Every body of the recorded SAPI traffic in `tests/recordings/` (real DW_2000Q_5 traffic from
//! 2020–21 and Advantage2_system1.5 traffic from 2025 over API v2 and v3, decoded from
//! dwave-inspector's cassettes; see that folder's README for origin and licence), read with
//! this crate and written back.
//!
//! The expected h, J, samples, energies and counts are the ones the recordings' README
//! documents (decoded there independently with numpy).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use qahm_common::properties::SolverProperties;
use qahm_common::topology::WorkingGraph;
use qahm_sapi::{
    ApiVersion, BatchItem, ProblemJob, ProblemStatus, ProblemStatusRecord, ProblemType, QpAnswer,
    QpProblem, Resource, SolverRecordError, SolverRef, SolverStatus, SolverSummary, decode_qp,
    decode_solver_record, decode_solver_summary, encode_qp, encode_solver_record, negotiate,
    reply_version, row_values,
};

fn recordings() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recordings")
}

/// Every recorded interaction, as a path relative to `recordings()`, sorted.
fn files() -> Vec<String> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(recordings()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            for file in std::fs::read_dir(&path).unwrap() {
                let file = file.unwrap().path();
                files.push(file.strip_prefix(recordings()).unwrap().display().to_string());
            }
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path.strip_prefix(recordings()).unwrap().display().to_string());
        }
    }
    files.sort();
    files
}

fn load(file: &str) -> Value {
    let text = std::fs::read_to_string(recordings().join(file)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The recorded interactions of one kind: (set directory, file).
fn interactions(kind: &str) -> Vec<(String, String)> {
    files()
        .into_iter()
        .filter(|f| f.contains(kind))
        .map(|f| (f.split('/').next().unwrap().to_string(), f))
        .collect()
}

/// JSON equality where numbers compare by value: `20` (2020) and `20.0` (2025, and what a
/// Rust `f64` writes) are the same number.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

fn dw_2000q_5() -> &'static SolverProperties {
    static PROPS: OnceLock<SolverProperties> = OnceLock::new();
    PROPS.get_or_init(|| decode_solver_record(&load("DW_2000Q_5-solver.json")).unwrap().properties)
}

fn advantage2() -> &'static SolverProperties {
    static PROPS: OnceLock<SolverProperties> = OnceLock::new();
    PROPS.get_or_init(|| {
        let list = load("advantage2-1.5-v3-triangle-ising/01-GET-solvers-filter-all.json");
        decode_solver_record(&list["response"]["body"][0]).unwrap().properties
    })
}

/// The working graph a recorded job was encoded over.
fn graph_of(solver: &SolverRef) -> &'static WorkingGraph {
    match solver.name() {
        "DW_2000Q_5" => &dw_2000q_5().graph,
        "Advantage2_system1.5" => &advantage2().graph,
        other => panic!("no record for {other}"),
    }
}

/// The recorded solver lists: the 2000Q sets' and the Advantage2 `filter=all` replies.
fn solver_lists() -> Vec<Value> {
    let mut lists: Vec<Value> = files()
        .iter()
        .filter(|f| f.contains("-GET-solvers") && !f.contains("filter-status"))
        .map(|f| load(f)["response"]["body"].clone())
        .collect();
    lists.push(Value::Array(vec![load("DW_2000Q_5-solver.json")]));
    lists
}

#[test]
fn every_recorded_file_is_one_of_the_kinds_these_tests_read() {
    let kinds = [
        "-GET-solvers.json",
        "-GET-solvers-filter-all.json",
        "-GET-solvers-filter-status.json",
        "-POST-problems.json",
        "-GET-problems-status.json",
        "-GET-problem-answer.json",
    ];
    let files = files();
    assert_eq!(files.len(), 45);
    for file in &files {
        let known = kinds.iter().filter(|k| file.ends_with(*k)).count()
            + usize::from(file == "DW_2000Q_5-solver.json");
        assert_eq!(known, 1, "{file} is not read by any test here");
    }
    let sets: BTreeSet<&str> =
        files.iter().filter_map(|f| f.split_once('/')).map(|s| s.0).collect();
    assert_eq!(sets.len(), 12);
    for set in sets {
        assert_eq!(
            interactions(&format!("{set}/")).len(),
            files.iter().filter(|f| f.starts_with(&format!("{set}/"))).count()
        );
    }
}

#[test]
fn recorded_qpu_records_reencode_to_records_that_read_back_the_same() {
    let mut qpus = BTreeSet::new();
    let mut others = BTreeSet::new();
    for list in solver_lists() {
        for record in list.as_array().unwrap() {
            match decode_solver_record(record) {
                Ok(decoded) => {
                    let reencoded = encode_solver_record(&decoded.properties, &decoded.summary);
                    let text = serde_json::to_string(&reencoded).unwrap();
                    let again =
                        decode_solver_record(&serde_json::from_str(&text).unwrap()).unwrap();
                    assert_eq!(again, decoded);
                    qpus.insert(decoded.summary.solver.name().to_string());
                }
                Err(SolverRecordError::NotQpu { name, .. }) => {
                    others.insert(name);
                }
                Err(e) => panic!("{}: {e}", record["id"]),
            }
        }
    }
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        qpus,
        names(&[
            "Advantage2_system1.5",
            "BAY26_X_INTERNAL",
            "BAY2_monitoring",
            "DW_2000Q_5",
            "DW_2000Q_VFYC_5"
        ])
    );
    assert_eq!(others, names(&["c4-sw_optimize", "c4-sw_sample", "hybrid_v1"]));
}

#[test]
fn recorded_records_give_the_published_graphs_and_ranges() {
    let q = dw_2000q_5();
    assert_eq!(
        (q.graph.num_qubits(), q.graph.qubits().len(), q.graph.couplers().len()),
        (2048, 2030, 5909)
    );
    assert_eq!(q.annealing_time_range.min, 1.0);
    assert_eq!(q.per_qubit_coupling_range.map(|r| (r.min, r.max)), Some((-9.0, 6.0)));
    assert_eq!(q.timing, qahm_common::properties::ProblemTimingData::dw_2000q_6());
    let a = advantage2();
    assert_eq!(
        (a.graph.num_qubits(), a.graph.qubits().len(), a.graph.couplers().len()),
        (4800, 4594, 41813)
    );
    assert_eq!(a.per_group_coupling_range.map(|r| (r.min, r.max)), Some((-13.0, 10.0)));
}

#[test]
fn every_field_qahm_emits_matches_the_recorded_record() {
    let mut checked = BTreeSet::new();
    for list in solver_lists() {
        for record in list.as_array().unwrap() {
            let Ok(decoded) = decode_solver_record(record) else { continue };
            let emitted = encode_solver_record(&decoded.properties, &decoded.summary);
            let name = decoded.summary.solver.name().to_string();
            for key in ["id", "identity", "status", "description", "avg_load"] {
                assert_eq!(emitted.get(key), record.get(key), "{name}: {key}");
            }
            let recorded = record["properties"].as_object().unwrap();
            for (key, value) in emitted["properties"].as_object().unwrap() {
                let theirs = recorded.get(key).unwrap_or_else(|| panic!("{name} lacks {key}"));
                if key == "parameters" {
                    // The contract's parameters: all of SAPI's but qahm's own `seed`.
                    for (parameter, description) in value.as_object().unwrap() {
                        if parameter != "seed" {
                            let recorded = &theirs[parameter];
                            assert!(recorded.is_string(), "{name} lacks parameter {parameter}");
                            if name == "Advantage2_system1.5" {
                                assert_eq!(description, recorded, "{parameter}");
                            }
                        }
                    }
                } else {
                    assert!(same_json(value, theirs), "{name}: {key}: {value} vs {theirs}");
                }
            }
            checked.insert((name, emitted["properties"].as_object().unwrap().len()));
        }
    }
    // DW_2000Q_5 has no per_group_coupling_range and no problem_timing_data; Advantage2 has
    // no per_qubit_coupling_range.
    assert!(checked.contains(&("DW_2000Q_5".into(), 19)), "{checked:?}");
    assert!(checked.contains(&("Advantage2_system1.5".into(), 20)), "{checked:?}");
}

#[test]
fn recorded_solver_summaries_name_the_solver_per_api_version() {
    let v2 = load("advantage2-1.5-v2-triangle-ising/02-GET-solvers-filter-status.json");
    let v3 = load("advantage2-1.5-v3-triangle-ising/02-GET-solvers-filter-status.json");
    let name = "Advantage2_system1.5";
    let summary = |v: &Value| decode_solver_summary(&v["response"]["body"][0]).unwrap();
    assert_eq!(
        summary(&v2),
        SolverSummary {
            solver: SolverRef::Name(name.into()),
            status: Some(SolverStatus::Online),
            avg_load: Some(0.11)
        }
    );
    let v3 = summary(&v3);
    assert_eq!(v3.solver.name(), name);
    assert_eq!(v3.solver.api_version(), ApiVersion::V3);
    assert_eq!(
        serde_json::to_value(&v3.solver).unwrap(),
        serde_json::json!({"name": name, "version": {"graph_id": "018d6fa6d0"}})
    );
    // The full v3 record names the solver the same way.
    let list = load("advantage2-1.5-v3-triangle-ising/01-GET-solvers-filter-all.json");
    assert_eq!(decode_solver_summary(&list["response"]["body"][0]).unwrap().solver, v3.solver);
}

/// (h, J, type, label) each recorded set submitted, per the recordings' README.
fn expected_problem(set: &str) -> (QpProblem, ProblemType, Option<&str>) {
    let problem_type = if set.ends_with("qubo") { ProblemType::Qubo } else { ProblemType::Ising };
    // The 2021 labelled request body is the unlabelled one (see the README).
    let label =
        (set.ends_with("labelled") && set.starts_with("advantage2")).then_some("pretty-label");
    let (h, j) = match (set.starts_with("2000q5"), set.contains("single-qubit")) {
        (_, true) => (vec![(0, 1.0)], vec![]),
        (true, false) => (
            vec![(0, 0.0), (1, 0.0), (4, 0.0), (5, 0.0)],
            vec![(0, 4, 1.0), (1, 4, 1.0), (0, 5, 1.0), (1, 5, -1.0)],
        ),
        (false, false) => {
            (vec![(0, 0.0), (1, 0.0), (12, 0.0)], vec![(0, 1, 1.0), (0, 12, 1.0), (1, 12, 1.0)])
        }
    };
    (QpProblem { linear: h, quadratic: j }, problem_type, label)
}

#[test]
fn recorded_problems_decode_to_their_h_and_j_and_reencode_byte_for_byte() {
    let posts = interactions("-POST-problems.json");
    assert_eq!(posts.len(), 12);
    for (set, file) in posts {
        let recorded = load(&file);
        let jobs: Vec<ProblemJob> =
            serde_json::from_value(recorded["request"]["body"].clone()).unwrap();
        assert_eq!(jobs.len(), 1, "{file}");
        let job = &jobs[0];
        let (expected, problem_type, label) = expected_problem(&set);
        let graph = graph_of(&job.solver);
        let problem = decode_qp(&job.data, graph).unwrap();
        assert_eq!(problem, expected, "{file}");
        assert_eq!(job.problem_type, problem_type, "{file}");
        assert_eq!(job.label.as_deref(), label, "{file}");
        assert_eq!(job.params, serde_json::from_str(r#"{"num_reads": 100}"#).unwrap());
        let expected_version = if set.contains("-v3-") { ApiVersion::V3 } else { ApiVersion::V2 };
        assert_eq!(job.solver.api_version(), expected_version, "{file}");

        let encoded = encode_qp(&problem.linear, &problem.quadratic, graph).unwrap();
        assert_eq!(encoded.lin, job.data.lin, "{file}: lin");
        assert_eq!(encoded.quad, job.data.quad, "{file}: quad");
        // The whole job, `offset: 0` included, writes back as recorded.
        let written = serde_json::to_value(&jobs).unwrap();
        assert!(same_json(&written, &recorded["request"]["body"]), "{file}");

        // The reply: one PENDING status for the job.
        let reply: Vec<BatchItem> =
            serde_json::from_value(recorded["response"]["body"].clone()).unwrap();
        let [BatchItem::Status(status)] = reply.as_slice() else { panic!("{file}: {reply:?}") };
        assert_eq!(status.status, ProblemStatus::Pending);
        assert_eq!((status.problem_type, &status.solver), (problem_type, &job.solver));
        assert!(same_json(&serde_json::to_value(&reply).unwrap(), &recorded["response"]["body"]));
    }
}

#[test]
fn recorded_lin_has_one_value_per_working_qubit_not_per_nominal_qubit() {
    for (file, working) in [
        ("2000q5-triangle-ising/02-POST-problems.json", 2030),
        ("advantage2-1.5-v3-triangle-ising/03-POST-problems.json", 4594),
    ] {
        let lin = load(file)["request"]["body"][0]["data"]["lin"].as_str().unwrap().to_string();
        // base64 of working × 8 bytes, padded.
        assert_eq!(lin.len(), (working * 8_usize).div_ceil(3) * 4, "{file}");
    }
}

#[test]
fn recorded_statuses_parse_and_write_back_as_recorded() {
    let polls = interactions("-GET-problems-status.json");
    assert_eq!(polls.len(), 12);
    for (set, file) in polls {
        let recorded = load(&file);
        let reply: Vec<BatchItem> =
            serde_json::from_value(recorded["response"]["body"].clone()).unwrap();
        let [BatchItem::Status(status)] = reply.as_slice() else { panic!("{file}: {reply:?}") };
        assert_eq!(status.status, ProblemStatus::Completed, "{file}");
        assert!(status.solved_on.is_some() && status.answer.is_none(), "{file}");
        let label = match (set.as_str(), set.ends_with("labelled")) {
            (_, true) => Some(Some("pretty-label".to_string())),
            (s, false) if s.starts_with("2000q5") => None,
            _ => Some(None),
        };
        assert_eq!(status.label, label, "{file}");
        assert!(same_json(&serde_json::to_value(&reply).unwrap(), &recorded["response"]["body"]));
    }
}

/// (active variables, rows in the problem type's values, energies, counts) of each recorded
/// answer, per the recordings' README.
type Expected = (Vec<u32>, Vec<Vec<i8>>, Vec<f64>, Vec<u32>);

fn expected_answer(set: &str) -> Expected {
    let triangle2000q = vec![
        vec![-1, -1, 1, -1],
        vec![1, 1, -1, 1],
        vec![1, -1, -1, -1],
        vec![1, 1, -1, -1],
        vec![1, -1, 1, -1],
        vec![-1, 1, 1, 1],
        vec![-1, 1, -1, 1],
        vec![-1, -1, 1, 1],
    ];
    match set {
        "2000q5-triangle-ising" => {
            (vec![0, 1, 4, 5], triangle2000q, vec![-2.0; 8], vec![13, 15, 2, 8, 13, 17, 21, 11])
        }
        "2000q5-triangle-qubo" => (vec![0, 1, 4, 5], vec![vec![0, 1, 0, 1]], vec![-1.0], vec![100]),
        "2000q5-single-qubit-ising"
        | "advantage2-1.5-v2-single-qubit-ising"
        | "advantage2-1.5-v3-single-qubit-ising" => {
            (vec![0], vec![vec![-1]], vec![-1.0], vec![100])
        }
        "2000q5-triangle-ising-labelled" => {
            let mut rows = triangle2000q;
            rows.extend([
                vec![-1, 1, -1, -1],
                vec![-1, -1, -1, 1],
                vec![-1, 1, 1, -1],
                vec![1, -1, 1, 1],
                vec![1, 1, 1, 1],
                vec![-1, -1, -1, -1],
                vec![1, -1, -1, 1],
                vec![1, 1, 1, -1],
            ]);
            let energies = [vec![-2.0; 8], vec![2.0; 8]].concat();
            (
                vec![0, 1, 4, 5],
                rows,
                energies,
                vec![5, 7, 9, 11, 7, 6, 4, 5, 8, 5, 8, 4, 5, 4, 4, 8],
            )
        }
        "advantage2-1.5-v2-triangle-ising" => (
            vec![0, 1, 12],
            vec![
                vec![1, -1, 1],
                vec![1, -1, -1],
                vec![-1, 1, 1],
                vec![-1, -1, 1],
                vec![-1, 1, -1],
                vec![1, 1, -1],
            ],
            vec![-1.0; 6],
            vec![15, 16, 17, 25, 14, 13],
        ),
        "advantage2-1.5-v2-triangle-qubo" => (
            vec![0, 1, 12],
            vec![vec![0, 0, 0], vec![1, 0, 0], vec![0, 1, 0], vec![0, 0, 1]],
            vec![0.0; 4],
            vec![14, 32, 20, 34],
        ),
        "advantage2-1.5-v2-triangle-ising-labelled" => (
            vec![0, 1, 12],
            vec![
                vec![1, -1, 1],
                vec![-1, 1, 1],
                vec![-1, -1, 1],
                vec![1, 1, -1],
                vec![1, -1, -1],
                vec![-1, 1, -1],
            ],
            vec![-1.0; 6],
            vec![19, 11, 20, 15, 18, 17],
        ),
        "advantage2-1.5-v3-triangle-ising" => (
            vec![0, 1, 12],
            vec![
                vec![-1, 1, 1],
                vec![-1, 1, -1],
                vec![1, 1, -1],
                vec![1, -1, -1],
                vec![-1, -1, 1],
                vec![1, -1, 1],
            ],
            vec![-1.0; 6],
            vec![10, 7, 17, 20, 33, 13],
        ),
        "advantage2-1.5-v3-triangle-qubo" => (
            vec![0, 1, 12],
            vec![vec![0, 1, 0], vec![0, 0, 0], vec![0, 0, 1], vec![1, 0, 0]],
            vec![0.0; 4],
            vec![18, 19, 29, 34],
        ),
        "advantage2-1.5-v3-triangle-ising-labelled" => (
            vec![0, 1, 12],
            vec![
                vec![-1, 1, -1],
                vec![1, -1, -1],
                vec![1, 1, -1],
                vec![1, -1, 1],
                vec![-1, -1, 1],
                vec![-1, 1, 1],
            ],
            vec![-1.0; 6],
            vec![19, 16, 13, 15, 21, 16],
        ),
        other => panic!("no expected answer for {other}"),
    }
}

/// The recorded answer of a set and the status it came in.
fn recorded_answer(file: &str) -> (Value, ProblemStatusRecord) {
    let recorded = load(file);
    let status: ProblemStatusRecord =
        serde_json::from_value(recorded["response"]["body"].clone()).unwrap();
    (recorded, status)
}

#[test]
fn recorded_answers_decode_to_the_documented_samples_energies_and_counts() {
    let answers = interactions("-GET-problem-answer.json");
    assert_eq!(answers.len(), 12);
    for (set, file) in answers {
        let (_, status) = recorded_answer(&file);
        assert_eq!(status.status, ProblemStatus::Completed);
        let answer = status.answer.as_ref().unwrap().decode().unwrap();
        let (active, rows, energies, counts) = expected_answer(&set);
        let set_ = &answer.set;
        assert_eq!(set_.active_variables, active, "{file}");
        let decoded_rows: Vec<Vec<i8>> =
            (0..set_.num_rows()).map(|r| row_values(set_, r, status.problem_type)).collect();
        assert_eq!(decoded_rows, rows, "{file}");
        assert_eq!(set_.energies, energies, "{file}");
        assert_eq!(set_.num_occurrences.as_ref(), Some(&counts), "{file}");
        assert_eq!(set_.num_reads(), 100, "{file}");
        let nominal = graph_of(&status.solver).num_qubits();
        assert_eq!(answer.num_variables, nominal, "{file}");
    }
}

#[test]
fn recorded_energies_are_those_of_the_recorded_problem() {
    for (set, file) in interactions("-GET-problem-answer.json") {
        let (_, status) = recorded_answer(&file);
        let answer = status.answer.as_ref().unwrap().decode().unwrap();
        let post = interactions(&format!("{set}/")).into_iter().find(|(_, f)| f.contains("POST"));
        let job: Vec<ProblemJob> =
            serde_json::from_value(load(&post.unwrap().1)["request"]["body"].clone()).unwrap();
        let problem = decode_qp(&job[0].data, graph_of(&job[0].solver)).unwrap();
        let set_ = &answer.set;
        for row in 0..set_.num_rows() {
            let values = row_values(set_, row, status.problem_type);
            let value = |q: u32| {
                let i = set_.active_variables.iter().position(|&a| a == q).unwrap();
                f64::from(values[i])
            };
            let energy = problem.linear.iter().map(|&(q, h)| h * value(q)).sum::<f64>()
                + problem.quadratic.iter().map(|&(u, v, j)| j * value(u) * value(v)).sum::<f64>();
            assert_eq!(energy, set_.energies[row], "{file} row {row}");
        }
    }
}

#[test]
fn recorded_answers_reencode_to_identical_base64_and_statuses_write_back() {
    for (_, file) in interactions("-GET-problem-answer.json") {
        let (recorded, status) = recorded_answer(&file);
        let wire = status.answer.as_ref().unwrap();
        let answer = wire.decode().unwrap();
        let again = QpAnswer::encode(&answer);
        assert_eq!(again.solutions, wire.solutions, "{file}");
        assert_eq!(again.energies, wire.energies, "{file}");
        assert_eq!(again.num_occurrences, wire.num_occurrences, "{file}");
        assert_eq!(again.active_variables, wire.active_variables, "{file}");
        assert_eq!((again.num_variables, again.format.as_str()), (wire.num_variables, "qp"));
        // qahm's timing holds the six QPU times; they come back as recorded.
        let qpu_times = serde_json::to_value(&again.timing).unwrap();
        assert_eq!(qpu_times.as_object().unwrap().len(), 6);
        for (key, value) in qpu_times.as_object().unwrap() {
            assert!(same_json(value, &recorded["response"]["body"]["answer"]["timing"][key]));
        }
        // The whole status, answer and all timing keys included, writes back as recorded.
        let written = serde_json::to_value(&status).unwrap();
        assert!(same_json(&written, &recorded["response"]["body"]), "{file}");
    }
}

#[test]
fn recorded_reply_types_are_what_negotiation_picks_for_the_recorded_accept() {
    let mut versioned = 0;
    for file in files().iter().filter(|f| f.contains('/')) {
        let recorded = load(file);
        let resource = if file.contains("-GET-solvers") {
            Resource::SolverDefinitionList
        } else if file.contains("-GET-problem-answer") {
            Resource::Problem
        } else {
            Resource::Problems
        };
        let accept = recorded["request"]["headers"]["Accept"].as_str();
        let content_type = recorded["response"]["headers"]["Content-Type"].as_str().unwrap();
        let version = negotiate(accept, resource).unwrap();
        assert_eq!(reply_version(content_type, resource), Ok(version), "{file}");
        if content_type != "application/json" {
            let bare = content_type.trim_end_matches("; charset=utf-8");
            assert_eq!(resource.content_type(version), bare, "{file}");
            versioned += 1;
        }
    }
    // The 2021 set's four and all 28 of 2025 carry versioned types.
    assert_eq!(versioned, 4 + 28);
}
