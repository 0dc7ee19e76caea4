//! Dev servers: OpenKit's overhead from a start request to the server's port accepting
//! connections, minus the app's own start time (target < 20 ms); discovery time for a
//! server that listens within 1 s (target < 3 s).

use std::sync::Arc;
use std::time::{Duration, Instant};

use openkit_core::devserver::{DevServerManager, PortHooks, discover};
use openkit_core::events::NoEvents;
use openkit_core::testing::TestRepo;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A tiny server: bind, listen, wait.
fn server_command(port_expr: &str) -> String {
    format!(
        "exec python3 -c \"import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', {port_expr})); s.listen(); time.sleep(60)\""
    )
}

async fn until_accepting(port: u16) -> Instant {
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Instant::now();
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let rt = openkit_benches::runtime();
    rt.block_on(async {
        let repo = TestRepo::new();
        let runs = 15;
        // The app alone: spawn the command directly.
        let mut direct = Vec::new();
        for _ in 0..runs {
            let port = free_port();
            let started = Instant::now();
            let mut child = tokio::process::Command::new("sh").arg("-c").arg(server_command(&port.to_string())).spawn().unwrap();
            let ready = until_accepting(port).await;
            direct.push(ready - started);
            let _ = child.kill().await;
        }
        // Through OpenKit: the start call (offset lease, env, group spawn) then accepting.
        let manager = DevServerManager::new(Arc::new(NoEvents), PortHooks::default(), repo.host_env());
        let mut through = Vec::new();
        for i in 0..runs {
            let base = free_port() - 10;
            let id = format!("wt{i}");
            let started = Instant::now();
            let rt = manager
                .start_server(openkit_core::devserver::StartRequest {
                    worktree_id: id.clone(),
                    cwd: repo.root().to_path_buf(),
                    command: server_command("int(__import__('os').environ['PORT'])"),
                    known_ports: vec![base],
                    offset_step: 10,
                    env_mapping: [("PORT".to_string(), format!("${{{base}}}"))].into_iter().collect(),
                    use_native_hook: false,
                })
                .await
                .unwrap();
            let ready = until_accepting(rt.ports[0]).await;
            through.push(ready - started);
            openkit_core::ports::DevServers::stop(manager.as_ref(), &id).await;
        }
        let (d, t) = (median(direct), median(through));
        println!(
            "dev server start: app alone {:.1} ms, through OpenKit {:.1} ms, overhead {:.1} ms (medians of {runs})",
            d.as_secs_f64() * 1e3,
            t.as_secs_f64() * 1e3,
            (t.as_secs_f64() - d.as_secs_f64()) * 1e3
        );

        // Discovery of a server that starts listening after 0.5 s.
        let mut times = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let cmd = format!("sleep 0.5; {}", server_command(&port.to_string()));
            let started = Instant::now();
            let found = discover(&cmd, repo.root(), Duration::from_secs(30)).await;
            assert_eq!(found.ports, vec![port]);
            times.push(started.elapsed());
        }
        println!("discovery (server listening after 0.5 s): median {:.2} s", median(times).as_secs_f64());
    });
}
