using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace PgArchive.Storage;

/// <summary>A token and the storage URL it is good for.</summary>
internal sealed record SwiftSession(string Token, Uri StorageUrl);

/// <summary>
/// Gets a token and the object-store endpoint: Swift v1 auth (tempauth, swauth), Keystone v2 (tenant + password) or
/// Keystone v3 (password, project scope), the endpoint picked from the service catalog by region and interface.
/// </summary>
internal sealed class SwiftAuthenticator(HttpClient http, SwiftObjectStoreOptions options)
{
    public int Version => options.AuthVersion != 0 ? options.AuthVersion : DetectVersion(options.AuthUrl);

    public static int DetectVersion(string authUrl)
    {
        var path = new Uri(authUrl).AbsolutePath.TrimEnd('/');
        if (path.EndsWith("/v3", StringComparison.OrdinalIgnoreCase) || path.Contains("/v3/", StringComparison.OrdinalIgnoreCase))
        {
            return 3;
        }

        return path.EndsWith("/v2.0", StringComparison.OrdinalIgnoreCase) || path.Contains("/v2.0/", StringComparison.OrdinalIgnoreCase) ? 2 : 1;
    }

    /// <summary>The v3 interface name for an endpoint type, or null when unknown.</summary>
    public static string? Interface(string endpointType) => endpointType.ToUpperInvariant() switch
    {
        "PUBLICURL" or "PUBLIC" or "" => "public",
        "INTERNALURL" or "INTERNAL" => "internal",
        "ADMINURL" or "ADMIN" => "admin",
        _ => null,
    };

    public async Task<SwiftSession> AuthenticateAsync(CancellationToken cancellationToken)
    {
        var session = Version switch
        {
            3 => await KeystoneV3Async(cancellationToken).ConfigureAwait(false),
            2 => await KeystoneV2Async(cancellationToken).ConfigureAwait(false),
            _ => await V1Async(cancellationToken).ConfigureAwait(false),
        };
        return string.IsNullOrEmpty(options.StorageUrl) ? session : session with { StorageUrl = new Uri(options.StorageUrl.TrimEnd('/')) };
    }

    private async Task<SwiftSession> V1Async(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, options.AuthUrl);
        request.Headers.Add("X-Auth-User", options.Username);
        request.Headers.Add("X-Auth-Key", options.Password);
        using var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        var token = Header(response, "X-Auth-Token");
        var url = Header(response, "X-Storage-Url");
        if (token is null || url is null)
        {
            throw Failed($"the answer ({(int)response.StatusCode}) has no X-Auth-Token or X-Storage-Url; is OS_AUTH_URL a Swift v1 auth endpoint?");
        }

        return new SwiftSession(token, new Uri(url.TrimEnd('/')));
    }

    private async Task<SwiftSession> KeystoneV2Async(CancellationToken cancellationToken)
    {
        var url = options.AuthUrl.TrimEnd('/');
        url = url.EndsWith("/tokens", StringComparison.OrdinalIgnoreCase) ? url : url + "/tokens";
        var body = Json(writer =>
        {
            writer.WriteStartObject("auth");
            writer.WriteStartObject("passwordCredentials");
            writer.WriteString("username", options.Username);
            writer.WriteString("password", options.Password);
            writer.WriteEndObject();
            if (!string.IsNullOrEmpty(options.ProjectId))
            {
                writer.WriteString("tenantId", options.ProjectId);
            }
            else if (!string.IsNullOrEmpty(options.ProjectName))
            {
                writer.WriteString("tenantName", options.ProjectName);
            }

            writer.WriteEndObject();
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = body };
        using var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        using var document = await ReadJsonAsync(response, cancellationToken).ConfigureAwait(false);
        var access = document.RootElement.GetProperty("access");
        var token = access.GetProperty("token").GetProperty("id").GetString() ?? throw Failed("the answer has no token id");
        var field = Interface(options.EndpointType) + "URL";
        foreach (var service in Array(access, "serviceCatalog"))
        {
            if (String(service, "type") != "object-store")
            {
                continue;
            }

            foreach (var endpoint in Array(service, "endpoints"))
            {
                if (RegionMatches(String(endpoint, "region"), null) && String(endpoint, field) is { Length: > 0 } storage)
                {
                    return new SwiftSession(token, new Uri(storage.TrimEnd('/')));
                }
            }
        }

        throw NoEndpoint();
    }

    private async Task<SwiftSession> KeystoneV3Async(CancellationToken cancellationToken)
    {
        var url = options.AuthUrl.TrimEnd('/');
        url = url.EndsWith("/auth/tokens", StringComparison.OrdinalIgnoreCase) ? url : url + "/auth/tokens";
        var body = Json(writer =>
        {
            writer.WriteStartObject("auth");
            writer.WriteStartObject("identity");
            writer.WriteStartArray("methods");
            writer.WriteStringValue("password");
            writer.WriteEndArray();
            writer.WriteStartObject("password");
            writer.WriteStartObject("user");
            writer.WriteString("name", options.Username);
            writer.WriteStartObject("domain");
            writer.WriteString("name", options.UserDomainName);
            writer.WriteEndObject();
            writer.WriteString("password", options.Password);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
            if (!string.IsNullOrEmpty(options.ProjectId) || !string.IsNullOrEmpty(options.ProjectName))
            {
                writer.WriteStartObject("scope");
                writer.WriteStartObject("project");
                if (!string.IsNullOrEmpty(options.ProjectId))
                {
                    writer.WriteString("id", options.ProjectId);
                }
                else
                {
                    writer.WriteString("name", options.ProjectName);
                    writer.WriteStartObject("domain");
                    writer.WriteString("name", options.ProjectDomainName);
                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = body };
        using var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        var token = Header(response, "X-Subject-Token") ?? throw Failed("the answer has no X-Subject-Token header");
        using var document = await ReadJsonAsync(response, cancellationToken).ConfigureAwait(false);
        var wanted = Interface(options.EndpointType);
        foreach (var service in Array(document.RootElement.GetProperty("token"), "catalog"))
        {
            if (String(service, "type") != "object-store")
            {
                continue;
            }

            foreach (var endpoint in Array(service, "endpoints"))
            {
                if (String(endpoint, "interface") == wanted && RegionMatches(String(endpoint, "region"), String(endpoint, "region_id"))
                    && String(endpoint, "url") is { Length: > 0 } storage)
                {
                    return new SwiftSession(token, new Uri(storage.TrimEnd('/')));
                }
            }
        }

        throw NoEndpoint();
    }

    private bool RegionMatches(string? region, string? regionId) =>
        string.IsNullOrEmpty(options.Region) || options.Region == region || options.Region == regionId;

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new ObjectStoreException(ObjectStoreErrorKind.Unavailable, null,
                $"Swift authentication at {options.AuthUrl} did not answer ({ex.Message}). Check OS_AUTH_URL and the network.", ex);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        var status = (int)response.StatusCode;
        response.Dispose();
        throw response.StatusCode switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => new ObjectStoreException(ObjectStoreErrorKind.AccessDenied, null,
                $"Swift authentication at {options.AuthUrl} refused user '{options.Username}' ({status}): check OS_USERNAME / OS_PASSWORD " +
                "(SWIFT_USER / SWIFT_PASSWORD), the project (OS_PROJECT_NAME / OS_TENANT_NAME) and the domains."),
            HttpStatusCode.NotFound => Failed($"{status}: the URL is not a v{Version} auth endpoint; check OS_AUTH_URL and OS_AUTH_VERSION"),
            HttpStatusCode.TooManyRequests => new ObjectStoreException(ObjectStoreErrorKind.Throttled, null, $"Swift authentication at {options.AuthUrl} is throttling ({status})."),
            >= HttpStatusCode.InternalServerError => new ObjectStoreException(ObjectStoreErrorKind.Unavailable, null, $"Swift authentication at {options.AuthUrl} failed with {status}."),
            _ => Failed(status.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
    }

    private ObjectStoreException Failed(string detail) =>
        new(ObjectStoreErrorKind.Other, null, $"Swift authentication (v{Version}) at {options.AuthUrl} failed: {detail}.");

    private ObjectStoreException NoEndpoint() =>
        new(ObjectStoreErrorKind.Other, null,
            $"The service catalog from {options.AuthUrl} has no object-store endpoint of type {options.EndpointType}" +
            (string.IsNullOrEmpty(options.Region) ? "" : $" in region {options.Region}") + ": check OS_REGION_NAME and OS_ENDPOINT_TYPE.");

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static async Task<JsonDocument> ReadJsonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    private static readonly JsonElement EmptyArray = JsonElement.Parse("[]");

    private static JsonElement.ArrayEnumerator Array(JsonElement element, string name) =>
        (element.TryGetProperty(name, out var array) && array.ValueKind == JsonValueKind.Array ? array : EmptyArray).EnumerateArray();

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static ByteArrayContent Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        var content = new ByteArrayContent(buffer.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = Encoding.UTF8.WebName };
        return content;
    }
}
