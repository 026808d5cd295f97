using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

// Configuration (appsettings.json, or environment variables such as PgArchive__LocalFileSystem__RootPath):
//   PgArchive:LocalFileSystem:RootPath   the archive directory (WALG_FILE_PREFIX)
//   PgArchive:HealthCheck:MaxBackupAge, PgArchive:HealthCheck:MaxWalArchiveLag
var builder = WebApplication.CreateSlimBuilder(args);
builder.Services.AddPgArchive(builder.Configuration.GetSection("PgArchive"))
    .UseLocalFileSystem(builder.Configuration.GetSection("PgArchive:LocalFileSystem"));
builder.Services.AddHealthChecks()
    .AddPgArchive(builder.Configuration.GetSection("PgArchive:HealthCheck"));

var app = builder.Build();
app.MapHealthChecks("/healthz", new HealthCheckOptions
{
    ResultStatusCodes =
    {
        [HealthStatus.Healthy] = StatusCodes.Status200OK,
        [HealthStatus.Degraded] = StatusCodes.Status200OK,
        [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
    },
    ResponseWriter = WriteJsonAsync,
});
app.Run();

static Task WriteJsonAsync(HttpContext context, HealthReport report)
{
    context.Response.ContentType = "application/json; charset=utf-8";
    using var buffer = new MemoryStream();
    using (var json = new Utf8JsonWriter(buffer))
    {
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject(name);
            json.WriteString("status", entry.Status.ToString());
            json.WriteString("description", entry.Description);
            json.WriteStartObject("data");
            foreach (var (key, value) in entry.Data)
            {
                switch (value)
                {
                    case long number:
                        json.WriteNumber(key, number);
                        break;
                    case int number:
                        json.WriteNumber(key, number);
                        break;
                    default:
                        json.WriteString(key, value?.ToString());
                        break;
                }
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    return context.Response.Body.WriteAsync(buffer.ToArray()).AsTask();
}
