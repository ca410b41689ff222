// Jest resolves `require()` with the conditions require/default/node. A package whose exports map
// offers only `import` (e.g. @octokit/webhooks-methods: { node: { import } }) then fails to resolve;
// retry such a miss with `import` too. jest.config.js has SWC compile those ESM files to CommonJS.
module.exports = (request, options) => {
  try {
    return options.defaultResolver(request, options);
  } catch (error) {
    const conditions = options.conditions ?? [];
    if (conditions.includes("import")) throw error;
    return options.defaultResolver(request, { ...options, conditions: [...conditions, "import"] });
  }
};
