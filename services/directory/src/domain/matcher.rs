//! "Who handles X?": matching a free-text topic against departments' duties.
//!
//! Text is cut into n-grams that work without word boundaries: runs of CJK
//! characters become character bigrams (a lone character a unigram), runs of
//! Latin letters and digits become lowercase words with a light plural
//! stemming. Function words ("的", "和", "负责", "the", "and") separate runs
//! and are dropped, so they neither match nor dilute.
//!
//! A duty scores the share of its n-grams found in the topic, each weighted
//! by how rare it is among all duties (an n-gram every duty has says little
//! about which department is meant). A department scores its best duty.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use super::duty::Duty;

/// Departments scoring below this are not offered.
pub const THRESHOLD: f64 = 0.2;

/// One department's match.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub department_id: String,
    /// 0..1, the best duty's score.
    pub score: f64,
    /// The department's duties scoring at least [`THRESHOLD`], best first.
    pub duties: Vec<(Duty, f64)>,
}

/// Ranks the departments whose duties match `topic`, best first, at most
/// `max_results` of them.
pub fn rank(duties: &[Duty], topic: &str, max_results: usize) -> Vec<Match> {
    let topic = ngrams(topic);
    if topic.is_empty() {
        return Vec::new();
    }
    let grams: Vec<HashSet<String>> = duties.iter().map(|d| ngrams(&d.text)).collect();
    let mut df: HashMap<&str, usize> = HashMap::new();
    for set in &grams {
        for g in set {
            *df.entry(g.as_str()).or_default() += 1;
        }
    }
    let n = grams.len() as f64;
    let weight = |g: &str| (1.0 + n / df.get(g).copied().unwrap_or(1) as f64).ln();

    let mut by_department: BTreeMap<&str, Vec<(Duty, f64)>> = BTreeMap::new();
    for (duty, set) in duties.iter().zip(&grams) {
        let total: f64 = set.iter().map(|g| weight(g)).sum();
        if total <= 0.0 {
            continue;
        }
        let found: f64 = set
            .iter()
            .filter(|g| topic.contains(*g))
            .map(|g| weight(g))
            .sum();
        let score = (found / total).clamp(0.0, 1.0);
        if score >= THRESHOLD {
            by_department
                .entry(&duty.department_id)
                .or_default()
                .push((duty.clone(), score));
        }
    }
    let mut matches: Vec<Match> = by_department
        .into_iter()
        .map(|(department_id, mut duties)| {
            duties.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.id.cmp(&b.0.id)));
            let score = duties.first().map_or(0.0, |d| d.1);
            Match {
                department_id: department_id.to_string(),
                score,
                duties,
            }
        })
        .collect();
    matches.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.department_id.cmp(&b.department_id))
    });
    matches.truncate(max_results);
    matches
}

/// Chinese function words and duty boilerplate, longest first.
const CJK_STOP: &[&str] = &[
    "负责", "相关", "有关", "工作", "事务", "事项", "进行", "需要", "问题", "以及", "包括", "其他",
    "各类", "日常", "提供", "处理", "我们", "你们", "他们", "这个", "那个", "的", "和", "与", "及",
    "或", "了", "在", "是", "等",
];

/// English function words; "it" is here because topics say "it does not
/// work" far more often than they mean the IT department.
const LATIN_STOP: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "of",
    "for",
    "to",
    "in",
    "on",
    "at",
    "by",
    "with",
    "from",
    "as",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "it",
    "its",
    "this",
    "that",
    "these",
    "those",
    "i",
    "me",
    "my",
    "we",
    "our",
    "you",
    "your",
    "he",
    "she",
    "they",
    "them",
    "their",
    "not",
    "no",
    "do",
    "does",
    "did",
    "has",
    "have",
    "had",
    "can",
    "could",
    "will",
    "would",
    "should",
    "please",
    "any",
    "all",
    "some",
    "responsible",
    "responsibility",
    "handles",
    "handling",
    "issues",
    "problem",
    "problems",
];

/// The n-grams of `text`.
pub fn ngrams(text: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut cjk: Vec<char> = Vec::new();
    let mut word = String::new();
    for c in text.chars().map(narrow) {
        if is_cjk(c) {
            flush_word(&mut word, &mut out);
            cjk.push(c);
        } else if c.is_alphanumeric() {
            flush_cjk(&mut cjk, &mut out);
            word.extend(c.to_lowercase());
        } else {
            flush_word(&mut word, &mut out);
            flush_cjk(&mut cjk, &mut out);
        }
    }
    flush_word(&mut word, &mut out);
    flush_cjk(&mut cjk, &mut out);
    out
}

/// Full-width ASCII forms (Ａ, １) as their ASCII letters.
fn narrow(c: char) -> char {
    match u32::from(c) {
        u @ 0xFF01..=0xFF5E => char::from_u32(u - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

fn is_cjk(c: char) -> bool {
    matches!(u32::from(c),
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x3134F) // CJK Extensions B–G
}

fn flush_word(word: &mut String, out: &mut HashSet<String>) {
    if !word.is_empty() && !LATIN_STOP.contains(&word.as_str()) {
        out.insert(stem(word));
    }
    word.clear();
}

/// Cuts a CJK run at stop words and adds the bigrams of each piece.
fn flush_cjk(run: &mut Vec<char>, out: &mut HashSet<String>) {
    static STOP: LazyLock<Vec<Vec<char>>> =
        LazyLock::new(|| CJK_STOP.iter().map(|s| s.chars().collect()).collect());
    let mut piece: Vec<char> = Vec::new();
    let mut i = 0;
    while i < run.len() {
        let stop = STOP.iter().find(|s| run[i..].starts_with(s));
        match stop {
            Some(s) => {
                add_piece(&piece, out);
                piece.clear();
                i += s.len();
            }
            None => {
                piece.push(run[i]);
                i += 1;
            }
        }
    }
    add_piece(&piece, out);
    run.clear();
}

fn add_piece(piece: &[char], out: &mut HashSet<String>) {
    match piece {
        [] => {}
        [one] => {
            out.insert(one.to_string());
        }
        _ => out.extend(piece.windows(2).map(|w| w.iter().collect::<String>())),
    }
}

/// English plurals to their singular, roughly: printers → printer,
/// facilities → facility, boxes → box.
fn stem(word: &str) -> String {
    let n = word.chars().count();
    if n > 4 && word.ends_with("ies") {
        format!("{}y", &word[..word.len() - 3])
    } else if n > 4
        && ["ches", "shes", "xes", "sses"]
            .iter()
            .any(|s| word.ends_with(s))
    {
        word[..word.len() - 2].to_string()
    } else if n > 3 && word.ends_with('s') && !word.ends_with("ss") && !word.ends_with("us") {
        word[..word.len() - 1].to_string()
    } else {
        word.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duty(id: &str, dept: &str, text: &str) -> Duty {
        Duty {
            id: id.into(),
            department_id: dept.into(),
            text: text.into(),
            created_ms: 0,
        }
    }

    fn grams(text: &str) -> Vec<String> {
        let mut v: Vec<_> = ngrams(text).into_iter().collect();
        v.sort();
        v
    }

    fn corpus() -> Vec<Duty> {
        vec![
            duty("1", "logistics", "负责办公楼的维修和保洁"),
            duty("2", "it", "IT support: network, email and printers"),
            duty("3", "it", "负责网络、邮件、打印机和电脑的维护"),
            duty("4", "hr", "Recruitment, payroll and staff training"),
            duty("5", "hr", "负责招聘、薪酬和员工培训"),
        ]
    }

    #[test]
    fn chinese_is_cut_into_bigrams_at_stop_words() {
        assert_eq!(
            grams("负责办公楼的维修和保洁"),
            ["保洁", "公楼", "办公", "维修"]
        );
        assert_eq!(grams("楼"), ["楼"]);
        assert_eq!(grams("A楼"), ["楼"]);
    }

    #[test]
    fn latin_is_cut_into_lowercase_singular_words() {
        assert_eq!(
            grams("IT support: Printers, facilities & boxes"),
            ["box", "facility", "printer", "support"]
        );
        assert_eq!(grams("ＡＢＣ　１２３"), ["123", "abc"]);
        assert_eq!(grams("status class"), ["class", "status"]);
    }

    #[test]
    fn a_chinese_repair_request_goes_to_logistics() {
        let m = rank(&corpus(), "三楼会议室空调坏了，需要维修", 3);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0].department_id, "logistics");
        assert!(m[0].score >= THRESHOLD && m[0].score <= 1.0);
        assert_eq!(m[0].duties[0].0.id, "1");
    }

    #[test]
    fn an_english_printer_problem_goes_to_it() {
        let m = rank(&corpus(), "my printer does not work", 3);
        assert_eq!(
            m.iter()
                .map(|m| m.department_id.as_str())
                .collect::<Vec<_>>(),
            ["it"]
        );
        assert_eq!(m[0].duties.len(), 1);
        assert_eq!(m[0].duties[0].0.id, "2");
    }

    #[test]
    fn a_chinese_printer_problem_goes_to_it_too() {
        let m = rank(&corpus(), "打印机坏了，邮件也发不出去", 3);
        assert_eq!(m[0].department_id, "it");
        assert_eq!(m[0].duties[0].0.id, "3");
    }

    #[test]
    fn the_better_match_comes_first_and_results_are_capped() {
        let duties = corpus();
        let m = rank(&duties, "网络和打印机维修，还有员工培训", 3);
        let ids: Vec<_> = m.iter().map(|m| m.department_id.as_str()).collect();
        assert!(ids.contains(&"it") && ids.contains(&"hr"), "{ids:?}");
        assert!(m.windows(2).all(|w| w[0].score >= w[1].score));
        assert_eq!(rank(&duties, "网络和打印机维修，还有员工培训", 1).len(), 1);
    }

    #[test]
    fn unrelated_or_empty_topics_match_nothing() {
        assert!(rank(&corpus(), "天气很好", 3).is_empty());
        assert!(rank(&corpus(), "the and of", 3).is_empty());
        assert!(rank(&[], "维修", 3).is_empty());
    }
}
