//! Choosing a deviation for a case, and turning a walk into timed events.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};

use super::walk::{Item, Walker};
use super::{
    Alternative, Anchor, AnchorPos, CaseCtx, Deviation, Plan, Rng, Running, Sim, SimEvent, Skel,
    Tagged, TimeDemand, Value, ast,
};

/// A monitor's updates: (name, update times, start, first allowed, interval, end).
type MonitorRun = (
    String,
    Vec<DateTime<Utc>>,
    DateTime<Utc>,
    i64,
    i64,
    DateTime<Utc>,
);

type Truth = Option<(&'static str, String, Option<usize>, Vec<Alternative>)>;

fn join(xs: &[String]) -> String {
    xs.join("; ")
}

impl Sim<'_> {
    fn count(items: &[Item], step: &str) -> usize {
        items.iter().filter(|i| i.step == step).count()
    }

    /// A step whose one occurrence can be moved, dropped or repeated detectably.
    fn simple(&self, items: &[Item], i: usize) -> bool {
        let it = &items[i];
        let Some(rule) = self.steps.get(&it.step) else {
            return false;
        };
        !it.ctx.in_repeat
            && !rule.optional
            && !self.cyclic.contains(&it.step)
            && !self.constrained.contains(&it.step)
            && !self.last_anchors.contains(&it.step)
            && Self::count(items, &it.step) == 1
    }

    /// Every decision around item `i` is still identified by another item of its
    /// branch (not one of `but`): the items that do, per decision.
    fn identified(&self, items: &[Item], i: usize, but: &[usize]) -> Option<Vec<Vec<usize>>> {
        let mut out = Vec::new();
        for (d, b) in &items[i].ctx.decides {
            let info = self.decides.get(d)?;
            let others: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(j, x)| {
                    *j != i && !but.contains(j) && info.identifies.get(&x.step) == Some(b)
                })
                .map(|(j, _)| j)
                .collect();
            if others.is_empty() {
                return None;
            }
            out.push(others);
        }
        Some(out)
    }

    /// Names of the constraints a sequence of steps breaks (timing aside).
    fn broken(&self, ctx: &CaseCtx<'_>, items: &[Item]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let occ = |s: &str| -> Vec<usize> {
            items
                .iter()
                .enumerate()
                .filter(|(_, x)| x.step == s)
                .map(|(i, _)| i)
                .collect()
        };
        let outcomes: Vec<(String, String)> = items
            .iter()
            .filter_map(|i| i.outcome.clone().map(|o| (i.step.clone(), o)))
            .collect();
        for c in &self.constraints {
            if let Some(w) = &c.when {
                let s = Sim::situation(ctx.assessment, ctx.level, &outcomes);
                if self.assessor.evaluate(w, &s) != Value::Bool(true) {
                    continue;
                }
            }
            let bad = match &c.kind {
                ast::ConstraintKind::Response { first, then, .. } => {
                    let t = occ(&then.text);
                    occ(&first.text).iter().any(|&i| !t.iter().any(|&j| j > i))
                }
                ast::ConstraintKind::Precedence { first, then } => {
                    if self.events.contains(&first.text) {
                        false
                    } else {
                        let f = occ(&first.text);
                        occ(&then.text).iter().any(|&j| !f.iter().any(|&i| i < j))
                    }
                }
                ast::ConstraintKind::Absence(x) => !occ(&x.text).is_empty(),
                ast::ConstraintKind::Count { kind, n, step } => {
                    let k = occ(&step.text).len() as u32;
                    match kind {
                        ast::CountKind::Exactly => k != *n,
                        ast::CountKind::AtLeast => k < *n,
                        ast::CountKind::AtMost => k > *n,
                    }
                }
                ast::ConstraintKind::NotCoexist(x, y) => {
                    !occ(&x.text).is_empty() && !occ(&y.text).is_empty()
                }
                ast::ConstraintKind::Actor { .. } => false,
            };
            if bad {
                out.insert(c.name.clone());
            }
        }
        out
    }

    /// Tries to give a case a deviation of `kind`.
    pub(super) fn inject<'a, 'p, F>(
        &self,
        kind: &str,
        normal: &Walker<'a, 'p>,
        walk: &F,
        ctx: &CaseCtx<'_>,
        rng: &mut Rng,
    ) -> Option<Plan>
    where
        F: Fn(Option<(usize, usize)>) -> Walker<'a, 'p>,
    {
        let items = &normal.items;
        let base = self.broken(ctx, items);
        let ok = |xs: &[Item]| self.broken(ctx, xs).is_subset(&base);
        let plan = |items: Vec<Item>, d: Deviation| Plan {
            items,
            monitors: normal.monitors.clone(),
            deviation: Some(d),
        };
        let n = items.len();
        match kind {
            "missing-step" => {
                let cands: Vec<usize> = (0..n.saturating_sub(1))
                    .filter(|&i| self.simple(items, i) && self.identified(items, i, &[]).is_some())
                    .collect();
                let &i = rng.pick(&cands)?;
                // A branch left with one identifying item may equally be read as another
                // branch taken, with that item unexpected.
                let alts: Vec<Alternative> = self
                    .identified(items, i, &[])
                    .unwrap_or_default()
                    .iter()
                    .filter(|o| o.len() == 1)
                    .map(|o| Alternative {
                        code: "unexpected-step".into(),
                        step: items[o[0]].step.clone(),
                    })
                    .collect();
                let mut xs = items.clone();
                let it = xs.remove(i);
                if !ok(&xs) {
                    return None;
                }
                Some(plan(
                    xs,
                    Deviation::Flow("missing-step", it.step, Some(i), alts),
                ))
            }
            "unexpected-step" => {
                let cands: Vec<usize> = (0..n).filter(|&i| self.simple(items, i)).collect();
                let &i = rng.pick(&cands)?;
                let q = i + 1 + rng.below(n - i);
                let mut xs = items.clone();
                xs.insert(q, items[i].clone());
                if !ok(&xs) {
                    return None;
                }
                Some(plan(
                    xs,
                    Deviation::Flow(
                        "unexpected-step",
                        items[i].step.clone(),
                        Some(q),
                        Vec::new(),
                    ),
                ))
            }
            "wrong-order" => {
                let cands: Vec<usize> = (0..n.saturating_sub(1))
                    .filter(|&k| {
                        let (a, b) = (&items[k], &items[k + 1]);
                        a.step != b.step
                            && self.simple(items, k)
                            && self.simple(items, k + 1)
                            // Reading the case as another branch taken, with this
                            // branch's items unexpected, must cost more than two moves.
                            && self.identified(items, k, &[k + 1])
                                .is_some_and(|o| o.iter().all(|x| x.len() >= 2))
                            && self.identified(items, k + 1, &[k])
                                .is_some_and(|o| o.iter().all(|x| x.len() >= 2))
                            && !a.ctx.parallel.iter().any(|(pa, ba)| {
                                b.ctx.parallel.iter().any(|(pb, bb)| pa == pb && ba != bb)
                            })
                    })
                    .collect();
                let &k = rng.pick(&cands)?;
                let mut xs = items.clone();
                xs.swap(k, k + 1);
                if !ok(&xs) {
                    return None;
                }
                let alt = vec![Alternative {
                    code: "wrong-order".into(),
                    step: items[k].step.clone(),
                }];
                Some(plan(
                    xs,
                    Deviation::Flow("wrong-order", items[k + 1].step.clone(), Some(k), alt),
                ))
            }
            "wrong-branch" => {
                // A decision the facts determine, walked down another branch: one with
                // other steps, or one with none (the commonest skip: the action the facts
                // call for left out), which leaves no trace in control flow at all.
                let mut cands: Vec<(usize, usize, usize)> = Vec::new();
                for m in &normal.met {
                    if m.in_parallel
                        || m.in_repeat
                        || normal.met.iter().filter(|x| x.decide == m.decide).count() != 1
                    {
                        continue;
                    }
                    let Some(info) = self.decides.get(&m.decide) else {
                        continue;
                    };
                    // Decisions on parameters are not re-checked (their caller sets them).
                    if info.reads_param {
                        continue;
                    }
                    for c in 0..info.branches {
                        if c != m.want {
                            cands.push((m.number, m.decide, c));
                        }
                    }
                }
                while !cands.is_empty() {
                    let (number, decide, c) = cands.remove(rng.below(cands.len()));
                    let forced = walk(Some((number, c)));
                    let info = self.decides.get(&decide)?;
                    let Some(met) = forced.met.iter().find(|x| x.number == number) else {
                        continue;
                    };
                    // Both branches record the same: nothing tells them apart.
                    if forced.items == normal.items || !ok(&forced.items) {
                        continue;
                    }
                    // The branch taken recorded nothing, and the one required may record
                    // nothing too (optional steps only): the two cannot be told apart.
                    let want = normal
                        .met
                        .iter()
                        .find(|x| x.number == number)
                        .map_or(0, |x| x.want);
                    let forced_empty = !forced
                        .items
                        .iter()
                        .any(|x| x.ctx.decides.contains(&(decide, c)));
                    if forced_empty && info.may_be_empty.get(want).copied().unwrap_or(false) {
                        continue;
                    }
                    let at = (met.at < forced.items.len()).then_some(met.at);
                    // Inside another decision, the same record may equally be read as that
                    // decision taking another branch.
                    let alts = met
                        .enclosing
                        .iter()
                        .filter_map(|e| self.decides.get(e))
                        .map(|d| Alternative {
                            code: "wrong-branch".into(),
                            step: d.name.clone(),
                        })
                        .collect();
                    return Some(Plan {
                        deviation: Some(Deviation::Flow(
                            "wrong-branch",
                            info.name.clone(),
                            at,
                            alts,
                        )),
                        items: forced.items,
                        monitors: forced.monitors,
                    });
                }
                None
            }
            "deadline-missed" => {
                let (_, demands) = self.skeleton(
                    ctx,
                    &Plan {
                        items: items.clone(),
                        monitors: Vec::new(),
                        deviation: None,
                    },
                );
                let cands: Vec<&TimeDemand> = demands
                    .iter()
                    .filter(|d| {
                        let Some(step) = &d.step else { return false };
                        let paused = self
                            .steps
                            .get(step)
                            .and_then(|r| r.within.as_ref())
                            .is_some_and(|(_, _, on)| {
                                on.as_ref()
                                    .and_then(|c| self.clocks.get(c))
                                    .is_some_and(|c| {
                                        c.pauses.iter().any(|p| items.iter().any(|x| &x.step == p))
                                    })
                            });
                        !paused
                            && !demands.iter().any(|o| {
                                o.anchor < d.target
                                    && d.target < o.target
                                    && !(o.anchor == d.anchor && o.target == d.target)
                            })
                    })
                    .collect();
                let d = rng.pick(&cands)?;
                Some(plan(items.clone(), Deviation::Late(d.step.clone()?)))
            }
            "not-acknowledged" => {
                let cands: Vec<&String> = items
                    .iter()
                    .map(|x| &x.step)
                    .filter(|s| self.steps.get(*s).is_some_and(|r| r.ack_ms.is_some()))
                    .collect();
                let s = rng.pick(&cands)?;
                Some(plan(items.clone(), Deviation::NoAck((*s).clone())))
            }
            "monitoring-gap" => {
                if normal
                    .monitors
                    .iter()
                    .any(|m| self.monitors.contains_key(m))
                {
                    Some(plan(items.clone(), Deviation::Gap))
                } else {
                    None
                }
            }
            "resource-lacks-capability" => {
                let cands: Vec<&String> = items
                    .iter()
                    .map(|x| &x.step)
                    .filter(|s| self.steps.get(*s).is_some_and(|r| !r.needs.is_empty()))
                    .collect();
                let s = rng.pick(&cands)?;
                Some(plan(items.clone(), Deviation::Resource((*s).clone())))
            }
            _ => None,
        }
    }

    /// Declared events the log must record before `step`: anchors made only of events,
    /// and the first half of `EVENT before step`.
    fn events_before(&self, step: &str) -> Vec<String> {
        let mut out = Vec::new();
        let only_events = |a: &Anchor, out: &mut Vec<String>| {
            let ns = a.names();
            if !ns.is_empty() && ns.iter().all(|n| self.events.contains(&n.text)) {
                for n in ns {
                    if !out.contains(&n.text) {
                        out.push(n.text.clone());
                    }
                }
            }
        };
        if let Some(rule) = self.steps.get(step)
            && let Some((_, of, on)) = &rule.within
        {
            match of {
                Some(a) => only_events(a, &mut out),
                None => {
                    if let Some(a) = on
                        .as_ref()
                        .and_then(|c| self.clocks.get(c))
                        .and_then(|c| c.starts.as_ref())
                    {
                        only_events(a, &mut out)
                    }
                }
            }
        }
        for c in &self.constraints {
            match &c.kind {
                ast::ConstraintKind::Precedence { first, then }
                | ast::ConstraintKind::Response { first, then, .. }
                    if then.text == step
                        && self.events.contains(&first.text)
                        && !out.contains(&first.text) =>
                {
                    out.push(first.text.clone())
                }
                _ => {}
            }
        }
        out
    }

    fn anchor_index(&self, a: &Anchor, skel: &[Skel]) -> Option<usize> {
        match a {
            Anchor::Ref { pos, name, .. } => {
                let mut occ = skel
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.step == name.text)
                    .map(|(i, _)| i);
                match pos {
                    Some(AnchorPos::Last) => occ.next_back(),
                    _ => occ.next(),
                }
            }
            Anchor::EarliestOf(xs, _) => xs.iter().filter_map(|x| self.anchor_index(x, skel)).min(),
            Anchor::LatestOf(xs, _) => xs.iter().filter_map(|x| self.anchor_index(x, skel)).max(),
        }
    }

    /// The events of a plan without times, and the timing demands on them.
    fn skeleton(&self, ctx: &CaseCtx<'_>, plan: &Plan) -> (Vec<Skel>, Vec<TimeDemand>) {
        let no_ack = match &plan.deviation {
            Some(Deviation::NoAck(s)) => Some(s.as_str()),
            _ => None,
        };
        let lacking = match &plan.deviation {
            Some(Deviation::Resource(s)) => Some(s.as_str()),
            _ => None,
        };
        let mut lacked = false;
        let mut skel: Vec<Skel> = Vec::new();
        let mut emitted: BTreeSet<String> = BTreeSet::new();
        for (i, it) in plan.items.iter().enumerate() {
            for e in self.events_before(&it.step) {
                if emitted.insert(e.clone()) {
                    skel.push(Skel {
                        label: self.label(&e),
                        step: e,
                        role: "system".into(),
                        attrs: Vec::new(),
                        item: None,
                        flow: false,
                    });
                }
            }
            let rule = self.steps.get(&it.step);
            let mut attrs: Vec<(String, String)> = Vec::new();
            let col = |f: &str| self.fields.get(f).cloned().unwrap_or_else(|| f.to_string());
            if let Some(r) = rule {
                if !r.to.is_empty() {
                    attrs.push((col("to"), join(&r.to)));
                }
                if !r.responsibilities.is_empty() {
                    attrs.push((col("responsibilities"), join(&r.responsibilities)));
                }
                if !r.actions.is_empty() {
                    attrs.push((col("actions"), join(&r.actions)));
                }
                if !r.needs.is_empty() {
                    let total: u32 = r.needs.iter().map(|(n, _, _)| *n).sum();
                    let mut units: Vec<String> = Vec::new();
                    for (n, kind, _) in &r.needs {
                        for k in 0..*n {
                            units.push(format!("{kind}-{}", i * 10 + k as usize + 1));
                        }
                    }
                    let mut caps: Vec<String> = Vec::new();
                    for (_, _, cs) in &r.needs {
                        for c in cs {
                            if !caps.contains(c) {
                                caps.push(c.clone());
                            }
                        }
                    }
                    if lacking == Some(it.step.as_str()) && !lacked {
                        lacked = true;
                        if r.needs.len() == 1 && !caps.is_empty() {
                            let want = &r.needs[0].2;
                            let drop = want[i % want.len()].clone();
                            caps.retain(|c| *c != drop);
                        } else {
                            units.truncate(total.saturating_sub(1) as usize);
                        }
                    }
                    if !units.is_empty() {
                        attrs.push((col("resource"), join(&units)));
                    }
                    if !caps.is_empty() {
                        attrs.push((col("capabilities"), join(&caps)));
                    } else if lacked && lacking == Some(it.step.as_str()) {
                        attrs.push((col("capabilities"), "none".into()));
                    }
                }
            }
            if let Some(o) = &it.outcome {
                attrs.push((col("outcome"), o.clone()));
            }
            skel.push(Skel {
                step: it.step.clone(),
                label: self.label(&it.step),
                role: rule
                    .and_then(|r| r.role.clone())
                    .unwrap_or_else(|| "handler".into()),
                attrs,
                item: Some(i),
                flow: true,
            });
            if let Some(r) = rule
                && r.ack_ms.is_some()
                && no_ack != Some(it.step.as_str())
            {
                let label = format!("{} acknowledged", it.step);
                skel.push(Skel {
                    step: label.clone(),
                    label,
                    role: r.to.first().cloned().unwrap_or_else(|| "recipient".into()),
                    attrs: vec![("acknowledges".into(), it.step.clone())],
                    item: Some(i),
                    flow: false,
                });
            }
        }
        let mut demands = Vec::new();
        for (k, s) in skel.iter().enumerate() {
            if !s.flow {
                if let Some((_, of)) = s.attrs.iter().find(|(a, _)| a == "acknowledges")
                    && let Some(ms) = self.steps.get(of).and_then(|r| r.ack_ms)
                    && k > 0
                {
                    demands.push(TimeDemand {
                        anchor: k - 1,
                        target: k,
                        lo: ms / 10,
                        hi: ms * 45 / 100,
                        limit: ms,
                        calendar: None,
                        step: None,
                    });
                }
                continue;
            }
        }
        for (name, rule) in &self.steps {
            let Some((limit_e, of, on)) = &rule.within else {
                continue;
            };
            let clock = on.as_ref().and_then(|c| self.clocks.get(c));
            let a = match of {
                Some(an) => self.anchor_index(an, &skel),
                None => match clock.and_then(|c| c.starts.as_ref()) {
                    Some(s) => self.anchor_index(s, &skel),
                    None => Some(0),
                },
            };
            let Some(a) = a else { continue };
            let Some(t) = (a..skel.len()).find(|&t| skel[t].flow && skel[t].step == *name) else {
                continue;
            };
            if t == a {
                continue;
            }
            let outcomes: Vec<(String, String)> = plan.items[..=skel[t].item.unwrap_or(0)]
                .iter()
                .filter_map(|i| i.outcome.clone().map(|o| (i.step.clone(), o)))
                .collect();
            let s = Sim::situation(ctx.assessment, ctx.level, &outcomes);
            let Value::Duration(limit) = self.assessor.evaluate(limit_e, &s) else {
                continue;
            };
            let mut hi = limit * 45 / 100;
            for (pct, after, _, when) in &rule.escalations {
                if let Some(w) = when
                    && self.assessor.evaluate(w, &s) != Value::Bool(true)
                {
                    continue;
                }
                if let Some(p) = pct {
                    hi = hi.min((limit as f64 * p / 100.0 * 0.9) as i64);
                }
                if let Some(x) = after
                    && let Value::Duration(d) = self.assessor.evaluate(x, &s)
                {
                    hi = hi.min(d * 9 / 10);
                }
            }
            demands.push(TimeDemand {
                anchor: a,
                target: t,
                lo: (limit / 10).min(hi / 2),
                hi,
                limit,
                calendar: clock.and_then(|c| c.calendar.clone()),
                step: Some(name.clone()),
            });
        }
        let all_outcomes: Vec<(String, String)> = plan
            .items
            .iter()
            .filter_map(|i| i.outcome.clone().map(|o| (i.step.clone(), o)))
            .collect();
        for c in &self.constraints {
            let ast::ConstraintKind::Response { first, then, .. } = &c.kind else {
                continue;
            };
            let s = Sim::situation(ctx.assessment, ctx.level, &all_outcomes);
            if let Some(w) = &c.when
                && self.assessor.evaluate(w, &s) != Value::Bool(true)
            {
                continue;
            }
            let Some(Value::Duration(d)) = c.within.as_ref().map(|w| self.assessor.evaluate(w, &s))
            else {
                continue;
            };
            for i in 0..skel.len() {
                if skel[i].step != first.text {
                    continue;
                }
                if let Some(j) = (i + 1..skel.len()).find(|&j| skel[j].step == then.text) {
                    demands.push(TimeDemand {
                        anchor: i,
                        target: j,
                        lo: 0,
                        hi: d * 45 / 100,
                        limit: d,
                        calendar: None,
                        step: None,
                    });
                }
            }
        }
        (skel, demands)
    }

    fn due(&self, calendar: Option<&str>, t0: DateTime<Utc>, ms: i64) -> DateTime<Utc> {
        let cal = calendar
            .and_then(|c| self.calendars.get(c))
            .unwrap_or(&self.always);
        let r = Running {
            calendar: cal,
            pauses: Vec::new(),
        };
        r.due(t0, ms)
            .unwrap_or_else(|| t0 + Duration::milliseconds(ms))
    }

    /// Gives the plan's events their times and attributes; returns them in time order
    /// with the truth of the deviation (its code, step, the tag of the event it is
    /// located at, alternatives).
    pub(super) fn render(
        &self,
        plan: &Plan,
        ctx: &CaseCtx<'_>,
        people_given: Option<&BTreeMap<String, String>>,
        start: DateTime<Utc>,
        rng: &mut Rng,
    ) -> Result<(Vec<Tagged>, Truth), String> {
        let (skel, demands) = self.skeleton(ctx, plan);
        let late = match &plan.deviation {
            Some(Deviation::Late(s)) => demands
                .iter()
                .position(|d| d.step.as_deref() == Some(s.as_str())),
            _ => None,
        };
        let mut times: Vec<DateTime<Utc>> = Vec::with_capacity(skel.len());
        let sec = Duration::seconds(1);
        for k in 0..skel.len() {
            if k == 0 {
                times.push(start);
                continue;
            }
            let now = times[k - 1];
            let base = rng.range(30, 600);
            // Room left by the open demands that span this event.
            let mut cap = i64::MAX;
            let mut other_cap: Option<DateTime<Utc>> = None;
            for d in &demands {
                if d.anchor < k && k <= d.target {
                    let upper = self.due(d.calendar.as_deref(), times[d.anchor], d.hi);
                    let left = (upper - now).num_seconds();
                    cap = cap.min(left / (d.target - k + 2) as i64);
                    if d.target != k {
                        let u = upper - sec * (d.target - k) as i32;
                        other_cap = Some(other_cap.map_or(u, |o: DateTime<Utc>| o.min(u)));
                    }
                }
            }
            let gap = base.min(cap).max(1);
            let mut t = now + Duration::seconds(gap);
            for (di, d) in demands.iter().enumerate() {
                if d.target != k || d.anchor >= k {
                    continue;
                }
                let t0 = times[d.anchor];
                if late == Some(di) {
                    let over = (d.limit as f64 * (1.2 + rng.unit() * 0.4)) as i64;
                    let want = self.due(d.calendar.as_deref(), t0, over) + sec;
                    t = t.max(want);
                    continue;
                }
                let ms = rng.range(d.lo, d.hi.max(d.lo));
                let mut want = self.due(d.calendar.as_deref(), t0, ms);
                if let Some(o) = other_cap {
                    want = want.min(o);
                }
                let upper = self.due(d.calendar.as_deref(), t0, d.hi);
                t = t.max(want).min(upper.max(now + sec));
            }
            if t <= now {
                t = now + sec;
            }
            times.push(t);
        }
        let mut events: Vec<(usize, DateTime<Utc>, Skel)> = skel
            .iter()
            .cloned()
            .zip(times.iter().copied())
            .enumerate()
            .map(|(i, (s, t))| (i, t, s))
            .collect();
        let mut next_tag = events.len();
        // Escalations due for a late step.
        if let Some(di) = late {
            let d = &demands[di];
            let t0 = times[d.anchor];
            let done = times[d.target];
            let step = d.step.clone().unwrap_or_default();
            if let Some(rule) = self.steps.get(&step) {
                let outcomes: Vec<(String, String)> = plan
                    .items
                    .iter()
                    .filter_map(|i| i.outcome.clone().map(|o| (i.step.clone(), o)))
                    .collect();
                let s = Sim::situation(ctx.assessment, ctx.level, &outcomes);
                for (pct, after, to, when) in &rule.escalations {
                    if let Some(w) = when
                        && self.assessor.evaluate(w, &s) != Value::Bool(true)
                    {
                        continue;
                    }
                    let point_ms = match (pct, after) {
                        (Some(p), _) => (d.limit as f64 * p / 100.0) as i64,
                        (None, Some(x)) => match self.assessor.evaluate(x, &s) {
                            Value::Duration(ms) => ms,
                            _ => continue,
                        },
                        _ => continue,
                    };
                    let point = self.due(d.calendar.as_deref(), t0, point_ms);
                    if done > point {
                        let label = format!("{step} escalated");
                        events.push((
                            next_tag,
                            point + sec,
                            Skel {
                                step: label.clone(),
                                label,
                                role: "system".into(),
                                attrs: vec![("escalated_to".into(), join(to))],
                                item: None,
                                flow: false,
                            },
                        ));
                        next_tag += 1;
                    }
                }
            }
        }
        // Monitoring updates.
        let last = events.iter().map(|e| e.1).max().unwrap_or(start);
        let mut gap_truth: Truth = None;
        let mut monitor_sets: Vec<MonitorRun> = Vec::new();
        for name in &plan.monitors {
            let Some(m) = self.monitors.get(name) else {
                continue;
            };
            let t0 = match &m.after {
                Some(a) => match self.anchor_index(a, &skel) {
                    Some(i) => times[i],
                    None => continue,
                },
                None => start,
            };
            let end = self
                .anchor_index(&m.until, &skel)
                .map(|i| times[i])
                .filter(|t| *t >= t0)
                .unwrap_or(last);
            let first = m.first_ms.unwrap_or(m.every_ms);
            let mut ups = Vec::new();
            let mut prev = t0;
            loop {
                let allowed = if ups.is_empty() { first } else { m.every_ms };
                if (end - prev).num_milliseconds() <= allowed * 9 / 10 {
                    break;
                }
                let step = (allowed as f64 * (0.4 + rng.unit() * 0.4)) as i64;
                let next = prev + Duration::milliseconds(step.max(1000));
                if next >= end {
                    break;
                }
                ups.push(next);
                prev = next;
            }
            monitor_sets.push((m.name.clone(), ups, t0, first, m.every_ms, end));
        }
        if matches!(plan.deviation, Some(Deviation::Gap)) {
            // Drop consecutive updates of one monitor until one gap exceeds its interval.
            let mut options: Vec<(usize, usize, usize)> = Vec::new();
            for (mi, (_, ups, t0, first, every, end)) in monitor_sets.iter().enumerate() {
                for k in 0..=ups.len() {
                    let prev = if k == 0 { *t0 } else { ups[k - 1] };
                    let allowed = if k == 0 { *first } else { *every };
                    for m in k..=ups.len() {
                        let next = ups.get(m).copied().unwrap_or(*end);
                        if (next - prev).num_milliseconds() > allowed + allowed / 20 + 1000 {
                            if m > k {
                                options.push((mi, k, m));
                            }
                            break;
                        }
                    }
                }
            }
            if let Some(&(mi, k, m)) = rng.pick(&options) {
                let set = &mut monitor_sets[mi];
                set.1.drain(k..m);
                gap_truth = Some(("monitoring-gap", set.0.clone(), None, Vec::new()));
                // Located at the update after the gap, if any: tag set below.
                if k < set.1.len() {
                    gap_truth = Some((
                        "monitoring-gap",
                        set.0.clone(),
                        Some(usize::MAX - k),
                        Vec::new(),
                    ));
                }
                monitor_sets.swap(0, mi);
            }
        }
        let mut gap_tag: Option<usize> = None;
        for (mi, (name, ups, ..)) in monitor_sets.iter().enumerate() {
            let role = self
                .monitors
                .get(name)
                .and_then(|m| m.role.clone())
                .unwrap_or_else(|| "handler".into());
            for (k, t) in ups.iter().enumerate() {
                if mi == 0
                    && let Some((_, _, Some(x), _)) = &gap_truth
                    && usize::MAX - x == k
                {
                    gap_tag = Some(next_tag);
                }
                events.push((
                    next_tag,
                    *t,
                    Skel {
                        step: name.clone(),
                        label: self.label(name),
                        role: role.clone(),
                        attrs: Vec::new(),
                        item: None,
                        flow: false,
                    },
                ));
                next_tag += 1;
            }
        }
        if let Some((_, _, loc, _)) = &mut gap_truth {
            *loc = gap_tag;
        }
        events.sort_by_key(|e| e.1);
        for i in 1..events.len() {
            if events[i].1 <= events[i - 1].1 {
                events[i].1 = events[i - 1].1 + sec;
            }
        }
        // Actors: one person per role in a case; constraints on actors respected.
        let mut people: BTreeMap<String, String> = people_given.cloned().unwrap_or_default();
        let mut actors: Vec<String> = Vec::with_capacity(events.len());
        for (_, _, s) in &events {
            let who = people
                .entry(s.role.clone())
                .or_insert_with(|| format!("{}_{}", s.role, 1 + rng.below(6)))
                .clone();
            actors.push(who);
        }
        for c in &self.constraints {
            let ast::ConstraintKind::Actor { different, a, b } = &c.kind else {
                continue;
            };
            let of = |name: &str| -> Vec<usize> {
                events
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.2.flow && e.2.step == name)
                    .map(|(i, _)| i)
                    .collect()
            };
            let (xa, xb) = (of(&a.text), of(&b.text));
            let Some(&first_a) = xa.first() else { continue };
            for j in xb {
                if *different {
                    if xa.iter().any(|&i| actors[i] == actors[j]) {
                        actors[j] = format!("{}_other", actors[j]);
                    }
                } else {
                    actors[j] = actors[first_a].clone();
                }
            }
        }
        let truth: Truth = match &plan.deviation {
            None => None,
            Some(Deviation::Flow(code, step, loc, alts)) => {
                let tag = loc.and_then(|it| {
                    events
                        .iter()
                        .find(|e| e.2.flow && e.2.item == Some(it))
                        .map(|e| e.0)
                });
                Some((code, step.clone(), tag, alts.clone()))
            }
            Some(Deviation::Late(s)) => late.map(|di| {
                (
                    "deadline-missed",
                    s.clone(),
                    Some(demands[di].target),
                    Vec::new(),
                )
            }),
            Some(Deviation::NoAck(s)) | Some(Deviation::Resource(s)) => {
                let code = if matches!(plan.deviation, Some(Deviation::NoAck(_))) {
                    "not-acknowledged"
                } else {
                    "resource-lacks-capability"
                };
                let tag = events
                    .iter()
                    .find(|e| e.2.flow && e.2.step == *s)
                    .map(|e| e.0);
                Some((code, s.clone(), tag, Vec::new()))
            }
            Some(Deviation::Gap) => gap_truth,
        };
        let out: Vec<Tagged> = events
            .into_iter()
            .zip(actors)
            .map(|((tag, t, s), actor)| {
                (
                    tag,
                    SimEvent {
                        activity: s.label,
                        step: s.step,
                        time: t,
                        actor,
                        attributes: s.attrs,
                    },
                )
            })
            .collect();
        Ok((out, truth))
    }
}
