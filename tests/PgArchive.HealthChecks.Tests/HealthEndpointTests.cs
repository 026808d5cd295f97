using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using PgArchive.Storage;

namespace PgArchive.HealthChecks;

/// <summary>The ASP.NET sample started for real, over a real local-filesystem archive, called over HTTP.</summary>
public sealed class HealthEndpointTests : IAsyncLifetime
{
    private readonly string _archive = Directory.CreateTempSubdirectory("pgarchive-health-").FullName;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private Process? _app;
    private Uri _base = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        var port = FreePort();
        _base = new Uri($"http://127.0.0.1:{port}/");
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(SampleAssembly());
        start.Environment["ASPNETCORE_URLS"] = _base.ToString();
        start.Environment["PgArchive__LocalFileSystem__RootPath"] = _archive;
        start.Environment["PgArchive__HealthCheck__MaxBackupAge"] = "1.00:00:00";
        start.Environment["PgArchive__HealthCheck__MaxWalArchiveLag"] = "00:10:00";
        _app = Process.Start(start) ?? throw new InvalidOperationException("Cannot start the health check sample.");
        _app.BeginOutputReadLine();
        _app.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var response = await _http.GetAsync(new Uri(_base, "healthz"), Token);
                return;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !_app.HasExited)
            {
                await Task.Delay(200, Token);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        if (_app is { HasExited: false })
        {
            _app.Kill(entireProcessTree: true);
            _app.WaitForExit();
        }

        _app?.Dispose();
        _http.Dispose();
        Directory.Delete(_archive, recursive: true);
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Healthz_reports_healthy_then_unhealthy_as_the_backup_ages()
    {
        var store = new LocalFileSystemObjectStore(_archive);
        await store.PutAsync(ArchiveLayout.SentinelKey("base_000000010000000000000004"), new MemoryStream("{}"u8.ToArray()), cancellationToken: Token);
        await store.PutAsync(ArchiveLayout.WalKey("000000010000000000000005", "lz4"), new MemoryStream([1]), cancellationToken: Token);

        using var healthy = await _http.GetAsync(new Uri(_base, "healthz"), Token);
        using var healthyJson = JsonDocument.Parse(await healthy.Content.ReadAsStringAsync(Token));

        Assert.Equal(HttpStatusCode.OK, healthy.StatusCode);
        Assert.Equal("Healthy", healthyJson.RootElement.GetProperty("status").GetString());
        var data = healthyJson.RootElement.GetProperty("checks").GetProperty("pgarchive").GetProperty("data");
        Assert.Equal("base_000000010000000000000004", data.GetProperty("backup_name").GetString());
        Assert.Equal("000000010000000000000005.lz4", data.GetProperty("last_archived_wal").GetString());

        File.SetLastWriteTimeUtc(Path.Combine(_archive, "basebackups_005", "base_000000010000000000000004_backup_stop_sentinel.json"), DateTime.UtcNow.AddDays(-3));
        using var unhealthy = await _http.GetAsync(new Uri(_base, "healthz"), Token);
        using var unhealthyJson = JsonDocument.Parse(await unhealthy.Content.ReadAsStringAsync(Token));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, unhealthy.StatusCode);
        Assert.Equal("Unhealthy", unhealthyJson.RootElement.GetProperty("status").GetString());
        var age = unhealthyJson.RootElement.GetProperty("checks").GetProperty("pgarchive").GetProperty("data").GetProperty("backup_age_seconds").GetInt64();
        Assert.InRange(age, 3L * 86400 - 60, 3L * 86400 + 60);
    }

    private static string SampleAssembly()
    {
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "samples", "PgArchive.HealthCheckSample", "bin", configuration, "net10.0", "PgArchive.HealthCheckSample.dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("The health check sample is not built: build PgArchive.sln first.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
