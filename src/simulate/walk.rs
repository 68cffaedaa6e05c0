//! Walking a procedure's flow the way a case's facts call for.

use crate::ast::{self, BranchBody, Section, Stmt};
use crate::eval::Assessment;

use super::{Rng, Sim};

/// Where an item sits in the flow.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Ctx {
    pub in_repeat: bool,
    /// Enclosing parallel blocks: (block, branch).
    pub parallel: Vec<(usize, usize)>,
    /// Enclosing decisions: (decision, branch).
    pub decides: Vec<(usize, usize)>,
}

/// One control-flow step of the walk.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub step: String,
    pub outcome: Option<String>,
    pub ctx: Ctx,
}

/// A decision the facts determine, met during the walk: (its number in the walk, the
/// decision, the branch the facts call for).
#[derive(Debug, Clone)]
pub(crate) struct Met {
    pub number: usize,
    pub decide: usize,
    pub want: usize,
    /// The number of items walked before it (within its parallel branch, if any).
    pub at: usize,
    /// It sits inside a parallel block or a loop.
    pub in_parallel: bool,
    pub in_repeat: bool,
    /// The decisions it sits inside (by position in the source).
    pub enclosing: Vec<usize>,
}

enum Flow {
    Next,
    End,
    Goto(String),
}

#[derive(Clone, Copy)]
enum Inner {
    Here,
    Branch(usize),
    Body,
    Par(usize),
}

pub(crate) struct Walker<'s, 'p> {
    sim: &'s Sim<'p>,
    assessment: &'s Assessment,
    level: Option<&'s str>,
    rng: Rng,
    pub items: Vec<Item>,
    pub monitors: Vec<String>,
    outcomes: Vec<(String, String)>,
    decisions: usize,
    pub met: Vec<Met>,
    /// Take branch `.1` at the `.0`-th decision of the walk.
    pub force: Option<(usize, usize)>,
    /// Forced outcome for the `until` of the loop being walked: (step, value, last round).
    until: Vec<(String, String, bool)>,
    fuel: usize,
}

impl<'s, 'p> Walker<'s, 'p> {
    pub fn new(
        sim: &'s Sim<'p>,
        assessment: &'s Assessment,
        level: Option<&'s str>,
        rng: Rng,
    ) -> Self {
        Walker {
            sim,
            assessment,
            level,
            rng,
            items: Vec::new(),
            monitors: Vec::new(),
            outcomes: Vec::new(),
            decisions: 0,
            met: Vec::new(),
            force: None,
            until: Vec::new(),
            fuel: 2000,
        }
    }

    pub fn run(&mut self) {
        let Some(body) = self.sim.p.ast().sections.iter().find_map(|s| match s {
            Section::Flow { body, .. } => Some(body),
            _ => None,
        }) else {
            return;
        };
        let mut f = self.block(body, &Ctx::default());
        let mut hops = 0;
        while let Flow::Goto(target) = f {
            hops += 1;
            if hops > 50 {
                break;
            }
            let mut path = Vec::new();
            if !find(body, &target, &mut path) {
                break;
            }
            f = self.resume(body, &path, &Ctx::default());
        }
    }

    fn block(&mut self, body: &[Stmt], ctx: &Ctx) -> Flow {
        for st in body {
            match self.stmt(st, ctx) {
                Flow::Next => {}
                other => return other,
            }
        }
        Flow::Next
    }

    fn resume(&mut self, body: &[Stmt], path: &[(usize, Inner)], ctx: &Ctx) -> Flow {
        let Some(&(index, inner)) = path.first() else {
            return Flow::End;
        };
        let Some(st) = body.get(index) else {
            return Flow::End;
        };
        let f = match (st, inner) {
            (_, Inner::Here) => self.stmt(st, ctx),
            (Stmt::Decide(d), Inner::Branch(b)) => {
                let mut c = ctx.clone();
                c.decides.push((d.span.start, b));
                match branch_body(d, b) {
                    Some(BranchBody::Block(xs)) => self.resume(xs, &path[1..], &c),
                    _ => Flow::End,
                }
            }
            (Stmt::Repeat(r), Inner::Body) => {
                let mut c = ctx.clone();
                c.in_repeat = true;
                self.resume(&r.body, &path[1..], &c)
            }
            (Stmt::Parallel(p), Inner::Par(j)) => {
                let mut c = ctx.clone();
                c.parallel.push((p.span.start, j));
                match p.branches.get(j) {
                    Some(b) => self.resume(&b.body, &path[1..], &c),
                    None => Flow::End,
                }
            }
            _ => Flow::End,
        };
        match f {
            Flow::Next => self.block(&body[index + 1..], ctx),
            other => other,
        }
    }

    fn outcome_for(&mut self, name: &str) -> Option<String> {
        let rule = self.sim.steps.get(name)?;
        if rule.outcomes.is_empty() {
            return None;
        }
        if let Some((_, v, last)) = self.until.iter().rev().find(|(s, _, _)| s == name) {
            if *last {
                return Some(v.clone());
            }
            let others: Vec<&String> = rule.outcomes.iter().filter(|o| *o != v).collect();
            return match self.rng.pick(&others) {
                Some(o) => Some((*o).clone()),
                None => Some(v.clone()),
            };
        }
        self.rng.pick(&rule.outcomes).cloned()
    }

    fn push(&mut self, step: String, ctx: &Ctx) {
        let outcome = self.outcome_for(&step);
        if let Some(o) = &outcome {
            self.outcomes.push((step.clone(), o.clone()));
        }
        self.items.push(Item {
            step,
            outcome,
            ctx: ctx.clone(),
        });
    }

    fn stmt(&mut self, st: &Stmt, ctx: &Ctx) -> Flow {
        if self.fuel == 0 {
            return Flow::End;
        }
        self.fuel -= 1;
        match st {
            Stmt::Step(s) => {
                if s.optional && self.rng.chance(0.5) {
                    return Flow::Next;
                }
                self.push(s.name.text.clone(), ctx);
                Flow::Next
            }
            Stmt::Call(c) => {
                self.push(c.step_name().text, ctx);
                Flow::Next
            }
            Stmt::Monitor(m) => {
                if !self.monitors.contains(&m.name.text) {
                    self.monitors.push(m.name.text.clone());
                }
                Flow::Next
            }
            Stmt::Decide(d) => {
                let n = d.branches.len() + usize::from(d.otherwise.is_some());
                let number = self.decisions;
                self.decisions += 1;
                let want = self.sim.decides.get(&d.span.start).and_then(|info| {
                    let s = Sim::situation(self.assessment, self.level, &self.outcomes);
                    self.sim.assessor.choose(&info.rule, &s)
                });
                let mut b = match want {
                    Some(w) if w < n => {
                        self.met.push(Met {
                            number,
                            decide: d.span.start,
                            want: w,
                            at: self.items.len(),
                            in_parallel: !ctx.parallel.is_empty(),
                            in_repeat: ctx.in_repeat,
                            enclosing: ctx.decides.iter().map(|(d, _)| *d).collect(),
                        });
                        w
                    }
                    _ => self.rng.below(n),
                };
                if let Some((k, forced)) = self.force
                    && k == number
                    && forced < n
                {
                    b = forced;
                }
                let mut c = ctx.clone();
                c.decides.push((d.span.start, b));
                match branch_body(d, b) {
                    Some(BranchBody::Goto(t)) => Flow::Goto(t.text.clone()),
                    Some(BranchBody::Block(xs)) => self.block(xs, &c),
                    None => Flow::End,
                }
            }
            Stmt::Parallel(p) => {
                let mut seqs: Vec<std::collections::VecDeque<Item>> = Vec::new();
                for (j, br) in p.branches.iter().enumerate() {
                    let saved = std::mem::take(&mut self.items);
                    let mut c = ctx.clone();
                    c.parallel.push((p.span.start, j));
                    let _ = self.block(&br.body, &c);
                    let seq = std::mem::replace(&mut self.items, saved);
                    seqs.push(seq.into());
                }
                loop {
                    let open: Vec<usize> =
                        (0..seqs.len()).filter(|&j| !seqs[j].is_empty()).collect();
                    let Some(&j) = self.rng.pick(&open) else {
                        break;
                    };
                    if let Some(it) = seqs[j].pop_front() {
                        self.items.push(it);
                    }
                }
                Flow::Next
            }
            Stmt::Repeat(r) => {
                let max = r.max.unwrap_or(3).clamp(1, 3) as usize;
                let rounds = 1 + self.rng.below(max);
                let target = until_outcome(&r.until);
                let mut c = ctx.clone();
                c.in_repeat = true;
                for round in 0..rounds {
                    if let Some((s, v)) = &target {
                        self.until.push((s.clone(), v.clone(), round + 1 == rounds));
                    }
                    let f = self.block(&r.body, &c);
                    if target.is_some() {
                        self.until.pop();
                    }
                    match f {
                        Flow::Next => {}
                        other => return other,
                    }
                }
                Flow::Next
            }
            Stmt::Goto { target, .. } => Flow::Goto(target.text.clone()),
            Stmt::End { .. } => Flow::End,
        }
    }
}

fn branch_body(d: &ast::Decide, b: usize) -> Option<&BranchBody> {
    match d.branches.get(b) {
        Some(br) => Some(&br.body),
        None if b == d.branches.len() => d.otherwise.as_ref().map(|(x, _)| x),
        None => None,
    }
}

/// `until outcome of STEP == value`: (step, value).
fn until_outcome(e: &ast::Expr) -> Option<(String, String)> {
    if let ast::ExprKind::Binary(ast::BinaryOp::Eq, a, b) = &e.kind {
        let value = |x: &ast::Expr| match &x.kind {
            ast::ExprKind::Path(p) if p.len() == 1 => Some(p[0].text.clone()),
            _ => None,
        };
        match (&a.kind, &b.kind) {
            (ast::ExprKind::OutcomeOf(s), _) => return Some((s.text.clone(), value(b)?)),
            (_, ast::ExprKind::OutcomeOf(s)) => return Some((s.text.clone(), value(a)?)),
            _ => {}
        }
    }
    None
}

/// The path to the step named `name`.
fn find(body: &[Stmt], name: &str, path: &mut Vec<(usize, Inner)>) -> bool {
    for (i, st) in body.iter().enumerate() {
        match st {
            Stmt::Step(s) if s.name.text == name => {
                path.push((i, Inner::Here));
                return true;
            }
            Stmt::Call(c) if c.step_name().text == name => {
                path.push((i, Inner::Here));
                return true;
            }
            Stmt::Decide(d) => {
                let n = d.branches.len() + usize::from(d.otherwise.is_some());
                for b in 0..n {
                    if let Some(BranchBody::Block(xs)) = branch_body(d, b) {
                        path.push((i, Inner::Branch(b)));
                        if find(xs, name, path) {
                            return true;
                        }
                        path.pop();
                    }
                }
            }
            Stmt::Repeat(r) => {
                path.push((i, Inner::Body));
                if find(&r.body, name, path) {
                    return true;
                }
                path.pop();
            }
            Stmt::Parallel(p) => {
                for (j, b) in p.branches.iter().enumerate() {
                    path.push((i, Inner::Par(j)));
                    if find(&b.body, name, path) {
                        return true;
                    }
                    path.pop();
                }
            }
            _ => {}
        }
    }
    false
}

/// Whether a walk through `body` may record no step at all (optional steps left out,
/// a decision's branch that may be empty, monitors only).
pub(crate) fn may_be_empty(body: &[Stmt]) -> bool {
    body.iter().all(|s| match s {
        Stmt::Step(st) => st.optional,
        Stmt::Monitor(_) => true,
        Stmt::Decide(d) => d
            .branches
            .iter()
            .map(|b| &b.body)
            .chain(d.otherwise.iter().map(|(b, _)| b))
            .any(|b| matches!(b, BranchBody::Block(xs) if may_be_empty(xs))),
        Stmt::Parallel(p) => p.branches.iter().all(|b| may_be_empty(&b.body)),
        Stmt::Repeat(r) => may_be_empty(&r.body),
        Stmt::Call(_) | Stmt::Goto { .. } | Stmt::End { .. } => false,
    })
}
