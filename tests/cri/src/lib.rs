//! A small blocking CRI client for tests: Kubernetes' CRI v1 `RuntimeService` (the `k8s-cri` protos) over gRPC on
//! containerd's unix socket, plus the host checks that prove a pod left nothing behind.
//!
//! The client owns a current-thread tokio runtime and blocks on each call, so a test reads like the kubelet's
//! sequence of calls. Every call has a deadline; an error names the call and carries containerd's status message.
#![forbid(unsafe_code)]

pub mod leftovers;

use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::{
    ContainerConfig, ContainerStatus, ContainerStatusRequest, CreateContainerRequest,
    ExecSyncRequest, ExecSyncResponse, ListContainersRequest, ListPodSandboxRequest,
    PodSandboxConfig, PodSandboxStatusRequest, PodSandboxStatusResponse, RemoveContainerRequest,
    RemovePodSandboxRequest, RunPodSandboxRequest, StartContainerRequest, StopContainerRequest,
    StopPodSandboxRequest, VersionRequest, VersionResponse,
};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tonic::transport::{Channel, Endpoint, Uri};

pub use k8s_cri::v1 as cri;

/// Longest a single CRI call may take (StopContainer waits out its own timeout inside this).
const CALL_DEADLINE: Duration = Duration::from_secs(60);

/// A connected CRI runtime-service client.
pub struct CriClient {
    client: RuntimeServiceClient<Channel>,
    rt: tokio::runtime::Runtime,
    socket: PathBuf,
}

impl std::fmt::Debug for CriClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CriClient")
            .field("socket", &self.socket)
            .finish()
    }
}

/// A failed CRI call: which call, and the gRPC status containerd returned.
#[derive(Debug)]
pub struct CriError {
    /// The CRI method, e.g. `StopContainer`.
    pub call: &'static str,
    /// The gRPC status.
    pub status: tonic::Status,
}

impl std::fmt::Display for CriError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CRI {} failed: {:?}: {}",
            self.call,
            self.status.code(),
            self.status.message()
        )
    }
}

impl std::error::Error for CriError {}

/// The result of one CRI call.
pub type CriResult<T> = Result<T, CriError>;

impl CriClient {
    /// Connects to the CRI endpoint at `socket` (containerd's gRPC socket).
    pub fn connect(socket: &Path) -> Result<CriClient, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("starting the CRI client's tokio runtime: {e}"))?;
        let path = socket.to_path_buf();
        let channel = rt
            .block_on(async {
                Endpoint::from_static("http://localhost")
                    .connect_timeout(Duration::from_secs(10))
                    .connect_with_connector(tower::service_fn(move |_: Uri| {
                        let path = path.clone();
                        async move {
                            let stream = tokio::net::UnixStream::connect(path).await?;
                            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
                        }
                    }))
                    .await
            })
            .map_err(|e| format!("connecting to CRI at {}: {e:?}", socket.display()))?;
        Ok(CriClient {
            client: RuntimeServiceClient::new(channel),
            rt,
            socket: socket.to_path_buf(),
        })
    }

    /// Runs one call with the deadline, turning a status into a [`CriError`] naming `call`.
    fn call<T, F, Fut>(&mut self, call: &'static str, f: F) -> CriResult<T>
    where
        F: FnOnce(RuntimeServiceClient<Channel>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let client = self.client.clone();
        let res = self.rt.block_on(async {
            match tokio::time::timeout(CALL_DEADLINE, f(client)).await {
                Ok(r) => r,
                Err(_) => Err(tonic::Status::deadline_exceeded(format!(
                    "no answer within {CALL_DEADLINE:?}"
                ))),
            }
        });
        res.map(tonic::Response::into_inner)
            .map_err(|status| CriError { call, status })
    }

    /// `Version`.
    pub fn version(&mut self) -> CriResult<VersionResponse> {
        self.call("Version", |mut c| async move {
            c.version(VersionRequest::default()).await
        })
    }

    /// `RunPodSandbox` with a runtime handler; returns the sandbox id.
    pub fn run_pod_sandbox(
        &mut self,
        config: &PodSandboxConfig,
        runtime_handler: &str,
    ) -> CriResult<String> {
        let req = RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: runtime_handler.to_string(),
        };
        self.call("RunPodSandbox", |mut c| async move {
            c.run_pod_sandbox(req).await
        })
        .map(|r| r.pod_sandbox_id)
    }

    /// `PodSandboxStatus` (verbose: `info` holds containerd's JSON with the netns path and the spec).
    pub fn pod_sandbox_status(&mut self, id: &str) -> CriResult<PodSandboxStatusResponse> {
        let req = PodSandboxStatusRequest {
            pod_sandbox_id: id.to_string(),
            verbose: true,
        };
        self.call("PodSandboxStatus", |mut c| async move {
            c.pod_sandbox_status(req).await
        })
    }

    /// `StopPodSandbox`.
    pub fn stop_pod_sandbox(&mut self, id: &str) -> CriResult<()> {
        let req = StopPodSandboxRequest {
            pod_sandbox_id: id.to_string(),
        };
        self.call("StopPodSandbox", |mut c| async move {
            c.stop_pod_sandbox(req).await
        })
        .map(drop)
    }

    /// `RemovePodSandbox`.
    pub fn remove_pod_sandbox(&mut self, id: &str) -> CriResult<()> {
        let req = RemovePodSandboxRequest {
            pod_sandbox_id: id.to_string(),
        };
        self.call("RemovePodSandbox", |mut c| async move {
            c.remove_pod_sandbox(req).await
        })
        .map(drop)
    }

    /// Ids of every pod sandbox containerd knows.
    pub fn list_pod_sandbox_ids(&mut self) -> CriResult<Vec<String>> {
        self.call("ListPodSandbox", |mut c| async move {
            c.list_pod_sandbox(ListPodSandboxRequest::default()).await
        })
        .map(|r| r.items.into_iter().map(|p| p.id).collect())
    }

    /// `CreateContainer` in a sandbox; returns the container id.
    pub fn create_container(
        &mut self,
        sandbox_id: &str,
        config: &ContainerConfig,
        sandbox_config: &PodSandboxConfig,
    ) -> CriResult<String> {
        let req = CreateContainerRequest {
            pod_sandbox_id: sandbox_id.to_string(),
            config: Some(config.clone()),
            sandbox_config: Some(sandbox_config.clone()),
        };
        self.call("CreateContainer", |mut c| async move {
            c.create_container(req).await
        })
        .map(|r| r.container_id)
    }

    /// `StartContainer`.
    pub fn start_container(&mut self, id: &str) -> CriResult<()> {
        let req = StartContainerRequest {
            container_id: id.to_string(),
        };
        self.call("StartContainer", |mut c| async move {
            c.start_container(req).await
        })
        .map(drop)
    }

    /// `StopContainer` with a grace period in seconds.
    pub fn stop_container(&mut self, id: &str, timeout_secs: i64) -> CriResult<()> {
        let req = StopContainerRequest {
            container_id: id.to_string(),
            timeout: timeout_secs,
        };
        self.call("StopContainer", |mut c| async move {
            c.stop_container(req).await
        })
        .map(drop)
    }

    /// `RemoveContainer`.
    pub fn remove_container(&mut self, id: &str) -> CriResult<()> {
        let req = RemoveContainerRequest {
            container_id: id.to_string(),
        };
        self.call("RemoveContainer", |mut c| async move {
            c.remove_container(req).await
        })
        .map(drop)
    }

    /// `ContainerStatus` (not verbose).
    pub fn container_status(&mut self, id: &str) -> CriResult<ContainerStatus> {
        let req = ContainerStatusRequest {
            container_id: id.to_string(),
            verbose: false,
        };
        self.call("ContainerStatus", |mut c| async move {
            c.container_status(req).await
        })
        .and_then(|r| {
            r.status.ok_or(CriError {
                call: "ContainerStatus",
                status: tonic::Status::internal("the response has no status"),
            })
        })
    }

    /// Ids of every container containerd's CRI knows.
    pub fn list_container_ids(&mut self) -> CriResult<Vec<String>> {
        self.call("ListContainers", |mut c| async move {
            c.list_containers(ListContainersRequest::default()).await
        })
        .map(|r| r.containers.into_iter().map(|c| c.id).collect())
    }

    /// `ExecSync` with a timeout in seconds.
    pub fn exec_sync(
        &mut self,
        id: &str,
        cmd: &[&str],
        timeout_secs: i64,
    ) -> CriResult<ExecSyncResponse> {
        let req = ExecSyncRequest {
            container_id: id.to_string(),
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            timeout: timeout_secs,
        };
        self.call("ExecSync", |mut c| async move { c.exec_sync(req).await })
    }
}

/// The CRI name of a container state value, e.g. `CONTAINER_EXITED`.
pub fn container_state_name(state: i32) -> &'static str {
    cri::ContainerState::try_from(state)
        .map(|s| s.as_str_name())
        .unwrap_or("(unknown value)")
}

/// The CRI name of a sandbox state value, e.g. `SANDBOX_READY`.
pub fn sandbox_state_name(state: i32) -> &'static str {
    cri::PodSandboxState::try_from(state)
        .map(|s| s.as_str_name())
        .unwrap_or("(unknown value)")
}

/// The messages of a CRI log file (`TIMESTAMP STREAM TAG MESSAGE` per line), as `(stream, message)`.
pub fn parse_cri_log(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(4, ' ');
            let _ts = parts.next()?;
            let stream = parts.next()?;
            let _tag = parts.next()?;
            Some((stream.to_string(), parts.next().unwrap_or("").to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cri_log_lines_split_into_stream_and_message() {
        let log =
            "2026-12-06T18:00:00.1Z stdout F hello world\n2026-12-06T18:00:00.2Z stderr F oops\n";
        assert_eq!(
            parse_cri_log(log),
            vec![
                ("stdout".to_string(), "hello world".to_string()),
                ("stderr".to_string(), "oops".to_string())
            ]
        );
    }

    #[test]
    fn state_names_are_the_cri_enum_names() {
        assert_eq!(container_state_name(2), "CONTAINER_EXITED");
        assert_eq!(sandbox_state_name(1), "SANDBOX_NOTREADY");
        assert_eq!(container_state_name(42), "(unknown value)");
    }
}
