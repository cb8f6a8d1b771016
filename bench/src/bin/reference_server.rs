//! The reference of target 2: a minimal actix-web handler that reads one
//! SQLite row by key through the same diesel pool and blocking pool as the
//! service. `reference_server DB_FILE PORT`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};
use mfa_core::UnixTime;
use mfa_diesel::Database;
use mfa_ports::ports::{SessionStore, UserStore};
use mfa_ports::{NewUser, SessionId, SessionRecord, User, UserId};
use uuid::Uuid;

const SESSION: Uuid = Uuid::from_u128(0x5e55_1011);

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let file = args.next().expect("DB_FILE");
    let port: u16 = args.next().expect("PORT").parse()?;
    let db = Database::connect(&file, 8)?;
    db.run_migrations()?;
    seed(&db)?;

    let db = web::Data::from(Arc::new(db));
    let server = HttpServer::new(move || {
        App::new().app_data(db.clone()).route(
            "/row",
            web::get().to(|db: web::Data<Database>| async move {
                let row = web::block(move || db.session(SessionId(SESSION))).await;
                match row {
                    Ok(Ok(Some(s))) => {
                        HttpResponse::Ok().json(serde_json::json!({ "expires": s.expires_at.0 }))
                    }
                    _ => HttpResponse::InternalServerError().finish(),
                }
            }),
        )
    })
    .workers(std::thread::available_parallelism().map_or(2, |n| n.get()))
    .bind(("127.0.0.1", port))?;
    actix_web::rt::System::new().block_on(server.run())?;
    Ok(())
}

fn seed(db: &Database) -> anyhow::Result<()> {
    let user = UserId(Uuid::from_u128(1));
    let new = NewUser {
        user: User {
            id: user,
            email: "ref@example.com".into(),
            name: "Reference".into(),
        },
        canonical_email: "ref@example.com".into(),
        password_hash: "unused".into(),
        created_at: UnixTime(0),
    };
    let _ = db.create_user(&new);
    let session = SessionRecord {
        id: SessionId(SESSION),
        user_id: user,
        created_at: UnixTime(0),
        expires_at: UnixTime(u64::from(u32::MAX)),
        revoked: false,
    };
    let _ = db.create_session(&session);
    Ok(())
}
