//! Visits every expression of a file (and every sub-expression).

use crate::ast::*;

pub(super) fn file(file: &File, f: &mut dyn FnMut(&Expr)) {
    for h in &file.header {
        if let HeaderItem::Applies(e) = h {
            expr(e, f);
        }
    }
    for s in &file.sections {
        match s {
            Section::Facts { items, .. } => {
                for item in items {
                    if let FactItem::Fact(FactDecl {
                        unknown:
                            Some(UnknownClause {
                                counts_as: Some(e), ..
                            }),
                        ..
                    }) = item
                    {
                        expr(e, f);
                    }
                }
            }
            Section::Params { items, .. } => {
                for p in items {
                    if let Some(v) = &p.value {
                        expr(v, f);
                    }
                }
            }
            Section::Validity { indicators, .. } => {
                for i in indicators {
                    expr(&i.when, f);
                }
            }
            Section::Priority(p) => {
                for item in &p.items {
                    match item {
                        PriorityItem::Target(t) => {
                            for (_, e) in &t.entries {
                                expr(e, f);
                            }
                            if let Some(w) = &t.when {
                                expr(w, f);
                            }
                        }
                        PriorityItem::Override(o) => expr(&o.when, f),
                        PriorityItem::Method(d) => decision(d, f),
                        PriorityItem::Regrade { .. } | PriorityItem::Combine(..) => {}
                    }
                }
            }
            Section::Decisions { items, .. } => {
                for d in items {
                    decision(d, f);
                }
            }
            Section::Flow { body, .. } => stmts(body, f),
            Section::Constraints { items, .. } => {
                for c in items {
                    if let Some(w) = &c.when {
                        expr(w, f);
                    }
                    if let ConstraintKind::Response {
                        within: Some(w), ..
                    } = &c.kind
                    {
                        expr(w, f);
                    }
                }
            }
            Section::Standards { items, .. } => {
                for st in items {
                    match &st.measure {
                        Measure::Share { within, .. } => expr(within, f),
                        Measure::Stat { limit, .. } => expr(limit, f),
                    }
                    for e in st.filter.iter().chain(&st.excluding) {
                        expr(e, f);
                    }
                }
            }
            Section::Mapping { items, .. } => {
                for m in items {
                    if let MapItem::Value { value, .. } = m {
                        expr(value, f);
                    }
                }
            }
            _ => {}
        }
    }
}

fn decision(d: &DecisionDef, f: &mut dyn FnMut(&Expr)) {
    match d {
        DecisionDef::Table(t) => {
            for c in &t.columns {
                if let Column::Input(e) = c {
                    expr(e, f);
                }
            }
            for r in &t.rows {
                for c in &r.cells {
                    if let Cell::Tests(ts, _) = c {
                        tests(ts, f);
                    }
                }
            }
        }
        DecisionDef::Matrix(m) => {
            expr(&m.rows_by, f);
            expr(&m.cols_by, f);
            for v in &m.col_values {
                expr(v, f);
            }
            for r in &m.rows {
                expr(&r.key, f);
                for c in &r.cells {
                    expr(c, f);
                }
            }
        }
        DecisionDef::Score(s) => {
            for i in &s.indicators {
                expr(&i.when, f);
            }
        }
    }
}

fn tests(ts: &[CellTest], f: &mut dyn FnMut(&Expr)) {
    for t in ts {
        match &t.kind {
            TestKind::Range(a, b) => {
                expr(a, f);
                expr(b, f);
            }
            TestKind::Compare(_, e) | TestKind::Equals(e) => expr(e, f),
        }
    }
}

fn attrs(attrs: &[StepAttr], f: &mut dyn FnMut(&Expr)) {
    for a in attrs {
        match a {
            StepAttr::Within { limit, .. } => expr(limit, f),
            StepAttr::Escalate { trigger, when, .. } => {
                if let EscalateTrigger::After(e) = trigger {
                    expr(e, f);
                }
                if let Some(w) = when {
                    expr(w, f);
                }
            }
            StepAttr::Ack(e, _) => expr(e, f),
            _ => {}
        }
    }
}

fn stmts(body: &[Stmt], f: &mut dyn FnMut(&Expr)) {
    for s in body {
        match s {
            Stmt::Step(st) => attrs(&st.attrs, f),
            Stmt::Monitor(m) => {
                expr(&m.every, f);
                if let Some(e) = &m.first_within {
                    expr(e, f);
                }
                attrs(&m.attrs, f);
            }
            Stmt::Call(c) => {
                for (_, e) in &c.args {
                    expr(e, f);
                }
                attrs(&c.attrs, f);
            }
            Stmt::Decide(d) => {
                if let Some(e) = &d.subject {
                    expr(e, f);
                }
                for b in &d.branches {
                    tests(&b.tests, f);
                    if let BranchBody::Block(xs) = &b.body {
                        stmts(xs, f);
                    }
                }
                if let Some((BranchBody::Block(xs), _)) = &d.otherwise {
                    stmts(xs, f);
                }
            }
            Stmt::Parallel(p) => {
                for b in &p.branches {
                    stmts(&b.body, f);
                }
            }
            Stmt::Repeat(r) => {
                stmts(&r.body, f);
                expr(&r.until, f);
            }
            Stmt::Goto { .. } | Stmt::End { .. } => {}
        }
    }
}

pub(super) fn expr(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match &e.kind {
        ExprKind::Call(_, args) | ExprKind::List(args) => {
            for a in args {
                expr(a, f);
            }
        }
        ExprKind::Range(a, b) | ExprKind::Binary(_, a, b) => {
            expr(a, f);
            expr(b, f);
        }
        ExprKind::Unary(_, a) => expr(a, f),
        ExprKind::IsMissing { operand, .. } => expr(operand, f),
        ExprKind::Literal(_) | ExprKind::Path(_) | ExprKind::OutcomeOf(_) => {}
    }
}
