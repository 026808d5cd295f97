using System.Net;
using System.Text;
using System.Text.Json;
using PgArchive.Storage.Testing;

namespace PgArchive.Storage;

/// <summary>
/// A stand-in for Keystone's token API (v2.0 and v3) on a loopback port: no Keystone runs here (Debian's needs a
/// database and a WSGI server). It checks the password and scope it is sent and answers with a service catalog whose
/// object-store endpoint is the real Swift all-in-one, with a real tempauth token: Swift itself is not faked.
/// </summary>
internal sealed class FakeKeystone : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<Task<string>> _issueToken;
    private readonly string _storageUrl;
    private readonly Task _loop;
    private int _requests;

    public FakeKeystone(string storageUrl, Func<Task<string>> issueToken)
    {
        _storageUrl = storageUrl;
        _issueToken = issueToken;
        var port = FreePorts.FindBlock(1);
        BaseUrl = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(BaseUrl + "/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public string BaseUrl { get; }

    public const string User = "archiver";
    public const string Password = "s3cret-keystone-password";
    public const string Project = "backups";

    /// <summary>Token requests received.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>The first token issued is not valid in Swift: the store must authenticate again on 401.</summary>
    public bool FirstTokenInvalid { get; set; }

    /// <summary>The last request body, for checking what the client sent.</summary>
    public JsonElement LastBody { get; private set; }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            try
            {
                await HandleAsync(context);
            }
            catch (Exception ex) when (ex is HttpListenerException or IOException or JsonException or KeyNotFoundException)
            {
                context.Response.StatusCode = 400;
            }
            finally
            {
                context.Response.Close();
            }
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var path = context.Request.Url!.AbsolutePath;
        using var document = await JsonDocument.ParseAsync(context.Request.InputStream);
        LastBody = document.RootElement.Clone();
        var count = Interlocked.Increment(ref _requests);
        var token = FirstTokenInvalid && count == 1 ? "AUTH_tk_not_valid_in_swift" : await _issueToken();
        string body;
        if (path == "/v3/auth/tokens")
        {
            var password = LastBody.GetProperty("auth").GetProperty("identity").GetProperty("password").GetProperty("user");
            var project = LastBody.GetProperty("auth").GetProperty("scope").GetProperty("project");
            if (password.GetProperty("name").GetString() != User || password.GetProperty("password").GetString() != Password
                || project.GetProperty("name").GetString() != Project || project.GetProperty("domain").GetProperty("name").GetString() != "Default")
            {
                context.Response.StatusCode = 401;
                return;
            }

            context.Response.StatusCode = 201;
            context.Response.Headers["X-Subject-Token"] = token;
            body = $$$"""
                {"token": {"catalog": [
                  {"type": "identity", "endpoints": [{"interface": "public", "region": "RegionOne", "url": "{{{BaseUrl}}}/v3"}]},
                  {"type": "object-store", "endpoints": [
                    {"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "http://127.0.0.1:9/v1/AUTH_wrong_region"},
                    {"interface": "public", "region": "RegionTwo", "region_id": "RegionTwo", "url": "http://127.0.0.1:9/v1/AUTH_wrong_interface"},
                    {"interface": "internal", "region": "RegionTwo", "region_id": "RegionTwo", "url": "{{{_storageUrl}}}"}]}]}}
                """;
        }
        else if (path == "/v2.0/tokens")
        {
            var auth = LastBody.GetProperty("auth");
            var credentials = auth.GetProperty("passwordCredentials");
            if (credentials.GetProperty("username").GetString() != User || credentials.GetProperty("password").GetString() != Password
                || auth.GetProperty("tenantName").GetString() != Project)
            {
                context.Response.StatusCode = 401;
                return;
            }

            context.Response.StatusCode = 200;
            body = $$$"""
                {"access": {"token": {"id": "{{{token}}}"}, "serviceCatalog": [
                  {"type": "object-store", "endpoints": [
                    {"region": "RegionOne", "publicURL": "http://127.0.0.1:9/v1/AUTH_wrong_region", "internalURL": "http://127.0.0.1:9/v1/AUTH_wrong_region"},
                    {"region": "RegionTwo", "publicURL": "{{{_storageUrl}}}", "internalURL": "http://127.0.0.1:9/v1/AUTH_wrong_interface"}]}]}}
                """;
        }
        else
        {
            context.Response.StatusCode = 404;
            return;
        }

        context.Response.ContentType = "application/json";
        var bytes = Encoding.UTF8.GetBytes(body);
        await context.Response.OutputStream.WriteAsync(bytes);
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
