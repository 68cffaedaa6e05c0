//! The flow walked with what is known at each statement.

use std::collections::BTreeSet;

use super::{Cx, Dom, Env, Vals};
use crate::ast::{BranchBody, CellTest, Decide, Expr, ExprKind, Section, Stmt, TestKind, UnaryOp};

/// What is known inside each branch of a `decide`.
#[derive(Debug, Clone)]
pub struct DecideInfo {
    /// The subject's key and domain (`decide ... on SUBJECT`).
    pub key: Option<String>,
    pub dom: Dom,
    /// Per `when`: the environment inside it, `None` when it can never be taken.
    pub branches: Vec<Option<Env>>,
    /// Where no `when` matches (the `else`, or the gap when there is none).
    pub rest: Option<Env>,
    /// Whether every `when` could be analysed (otherwise `rest` is not reliable).
    pub exact: bool,
}

impl DecideInfo {
    /// The subject values no `when` takes, when known and not empty.
    pub fn uncovered(&self, cx: &Cx) -> Option<Vals> {
        if !self.exact {
            return None;
        }
        let env = self.rest.as_ref()?;
        let key = self.key.as_ref()?;
        env.get(key).cloned().or_else(|| cx.full(&self.dom))
    }
}

/// The condition a `when` of a subject-less `decide` tests.
pub fn branch_condition(tests: &[CellTest]) -> Option<Expr> {
    let mut acc: Option<Expr> = None;
    for t in tests {
        let TestKind::Equals(e) = &t.kind else {
            return None;
        };
        let e = if t.negated {
            Expr {
                kind: ExprKind::Unary(UnaryOp::Not, Box::new(e.clone())),
                span: t.span,
            }
        } else {
            e.clone()
        };
        acc = Some(match acc {
            None => e,
            Some(a) => Expr {
                span: a.span.join(e.span),
                kind: ExprKind::Binary(crate::ast::BinaryOp::Or, Box::new(a), Box::new(e)),
            },
        });
    }
    acc
}

impl<'p> Cx<'p> {
    /// The environments inside the branches of a `decide`, first match first.
    pub fn decide(&self, d: &Decide, env: &Env) -> DecideInfo {
        let mut rest = Some(env.clone());
        let mut branches = Vec::new();
        let mut exact = true;
        let (key, dom) = match &d.subject {
            Some(s) => (Some(self.key_of(s)), self.dom_of(s)),
            None => (None, Dom::Opaque),
        };
        for b in &d.branches {
            match (&key, self.full(&dom)) {
                (Some(key), Some(full)) => match self.cell_set(&b.tests, &dom) {
                    Some(set) => {
                        branches.push(
                            rest.as_ref()
                                .and_then(|e| e.restrict(key, &full, &set, true)),
                        );
                        rest = rest.and_then(|e| e.restrict(key, &full, &set, false));
                    }
                    None => {
                        exact = false;
                        branches.push(rest.clone());
                    }
                },
                (Some(_), None) => {
                    exact = false;
                    branches.push(rest.clone());
                }
                (None, _) => match branch_condition(&b.tests) {
                    Some(c) => {
                        branches.push(rest.as_ref().and_then(|e| self.refine(e, &c, true)));
                        rest = rest.and_then(|e| self.refine(&e, &c, false));
                    }
                    None => {
                        exact = false;
                        branches.push(rest.clone());
                    }
                },
            }
        }
        DecideInfo {
            key,
            dom,
            branches,
            rest,
            exact,
        }
    }

    /// Names that `go to` or `->` jump to: the facts known there are reset.
    pub fn jump_targets(&self) -> BTreeSet<String> {
        fn go(body: &[Stmt], out: &mut BTreeSet<String>) {
            for s in body {
                match s {
                    Stmt::Goto { target, .. } => {
                        out.insert(target.text.clone());
                    }
                    Stmt::Decide(d) => {
                        for b in &d.branches {
                            match &b.body {
                                BranchBody::Goto(t) => {
                                    out.insert(t.text.clone());
                                }
                                BranchBody::Block(xs) => go(xs, out),
                            }
                        }
                        match &d.otherwise {
                            Some((BranchBody::Goto(t), _)) => {
                                out.insert(t.text.clone());
                            }
                            Some((BranchBody::Block(xs), _)) => go(xs, out),
                            None => {}
                        }
                    }
                    Stmt::Parallel(p) => p.branches.iter().for_each(|b| go(&b.body, out)),
                    Stmt::Repeat(r) => go(&r.body, out),
                    _ => {}
                }
            }
        }
        let mut out = BTreeSet::new();
        if let Some(body) = self.flow() {
            go(body, &mut out);
        }
        out
    }

    pub fn flow(&self) -> Option<&'p [Stmt]> {
        self.p.ast().sections.iter().find_map(|s| match s {
            Section::Flow { body, .. } => Some(body.as_slice()),
            _ => None,
        })
    }

    /// Calls `f` on every statement of the flow with what is known there.
    /// Branches that can never be taken are not entered.
    pub fn walk(&self, f: &mut dyn FnMut(&Stmt, &Env)) {
        let jumps = self.jump_targets();
        if let Some(body) = self.flow() {
            self.walk_block(body, Env::default(), &jumps, f);
        }
    }

    fn walk_block(
        &self,
        body: &[Stmt],
        mut env: Env,
        jumps: &BTreeSet<String>,
        f: &mut dyn FnMut(&Stmt, &Env),
    ) {
        for s in body {
            if stmt_name(s).is_some_and(|n| jumps.contains(&n)) {
                env = Env::default();
            }
            f(s, &env);
            match s {
                Stmt::Decide(d) => {
                    let info = self.decide(d, &env);
                    for (b, benv) in d.branches.iter().zip(info.branches) {
                        if let (BranchBody::Block(xs), Some(e)) = (&b.body, benv) {
                            self.walk_block(xs, e, jumps, f);
                        }
                    }
                    if let (Some((BranchBody::Block(xs), _)), Some(e)) = (&d.otherwise, info.rest) {
                        self.walk_block(xs, e, jumps, f);
                    }
                }
                Stmt::Parallel(p) => {
                    for b in &p.branches {
                        self.walk_block(&b.body, env.clone(), jumps, f);
                    }
                }
                Stmt::Repeat(r) => self.walk_block(&r.body, env.clone(), jumps, f),
                _ => {}
            }
        }
    }
}

/// The name a statement is known by in the graph, if it has one.
pub fn stmt_name(s: &Stmt) -> Option<String> {
    match s {
        Stmt::Step(x) => Some(x.name.text.clone()),
        Stmt::Monitor(x) => Some(x.name.text.clone()),
        Stmt::Call(x) => Some(x.step_name().text),
        Stmt::Decide(x) => Some(x.name.text.clone()),
        Stmt::Parallel(x) => x.name.as_ref().map(|n| n.text.clone()),
        Stmt::Repeat(x) => x.name.as_ref().map(|n| n.text.clone()),
        Stmt::Goto { .. } | Stmt::End { .. } => None,
    }
}

/// Every statement of a body, nested ones included, in order.
pub fn all_stmts<'a>(body: &'a [Stmt], f: &mut dyn FnMut(&'a Stmt)) {
    for s in body {
        f(s);
        match s {
            Stmt::Decide(d) => {
                for b in &d.branches {
                    if let BranchBody::Block(xs) = &b.body {
                        all_stmts(xs, f);
                    }
                }
                if let Some((BranchBody::Block(xs), _)) = &d.otherwise {
                    all_stmts(xs, f);
                }
            }
            Stmt::Parallel(p) => p.branches.iter().for_each(|b| all_stmts(&b.body, f)),
            Stmt::Repeat(r) => all_stmts(&r.body, f),
            _ => {}
        }
    }
}
