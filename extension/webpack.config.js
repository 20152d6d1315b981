// Extra webpack settings merged into @jupyterlab/builder's. plotly.js ships minified; running Terser over
// its 4.6 MB again is most of the build time, so chunks holding it are passed through unchanged.
const TerserPlugin = require('terser-webpack-plugin');

function minifyExceptPlotly(input, sourceMap, minimizerOptions, extractComments) {
  const code = Object.values(input)[0];
  if (typeof code === 'string' && code.includes('* plotly.js v')) return Promise.resolve({ code });
  return TerserPlugin.terserMinify(input, sourceMap, minimizerOptions, extractComments);
}

module.exports = {
  optimization: {
    minimizer: [new TerserPlugin({ parallel: false, minify: minifyExceptPlotly })],
  },
};
