using System.ComponentModel.DataAnnotations;

namespace ChatPlatform.ServiceDefaults.Hosting;

/// <summary>Who this process is: the service name used in metric labels and the instance id used in queue names.</summary>
public sealed class ServiceIdentity
{
    public const string Section = "Service";

    /// <summary>Short lowercase service name (relay, signaling, delivery, gateway). Default: from the assembly name.</summary>
    [Required, RegularExpression("^[a-z][a-z0-9-]{0,31}$")]
    public string Name { get; set; } = "";

    /// <summary>Unique per running instance. Default: name, host and process id.</summary>
    [Required, RegularExpression("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    public string InstanceId { get; set; } = "";

    internal static string DefaultName(string applicationName)
    {
        var lastDot = applicationName.LastIndexOf('.');
        return applicationName[(lastDot + 1)..].ToLowerInvariant();
    }

    internal static string DefaultInstanceId(string name) =>
        $"{name}-{Environment.MachineName.ToLowerInvariant()}-{Environment.ProcessId}";
}
