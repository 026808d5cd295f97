using System.Net;

namespace PgArchive.Storage.Conformance;

/// <summary>Creates a container on a freshly started Swift all-in-one.</summary>
public static class SwiftContainer
{
    /// <summary>
    /// PUTs the container, retrying while Swift answers 503: its proxy answers before its account and container
    /// servers do, for a moment after start (more on a loaded machine). Any other failure, or 503 for 30 s, throws.
    /// </summary>
    public static async Task CreateAsync(HttpClient http, string storageUrl, string container, string token)
    {
        ArgumentNullException.ThrowIfNull(http);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var create = new HttpRequestMessage(HttpMethod.Put, $"{storageUrl}/{container}");
            create.Headers.Add("X-Auth-Token", token);
            using var response = await http.SendAsync(create);
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || DateTime.UtcNow > deadline)
            {
                response.EnsureSuccessStatusCode();
                return;
            }

            await Task.Delay(250);
        }
    }
}
